package trail

// IsZero reports whether u carries no identity at all: every field is
// empty. Record and trailhttp then use the identity of WithIdentity(ctx).
func (u *UserIdentity) IsZero() bool {
	return u.Type == "" && u.PrincipalID == "" && u.ARN == "" && u.AccountID == "" &&
		u.AccessKeyID == "" && u.UserName == "" && u.SessionContext == nil && u.InvokedBy == "" &&
		u.IdentityProvider == "" && u.CredentialID == "" && u.OnBehalfOf == nil &&
		len(u.InScopeOf) == 0 && len(u.InvokedByDelegate) == 0
}
