package trail

// Internals exported for the external tests.
var (
	RegionRE     = regionRE
	AccountRE    = accountRE
	ValidRegion  = validRegion
	ValidAccount = validAccount
)
