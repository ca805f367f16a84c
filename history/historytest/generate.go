package historytest

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/trailkit/trail"
)

// Generator makes realistic synthetic CloudTrail management events for
// benchmarks, examples and soak tests: a few dozen IAM users and
// assumed-role sessions (with rotating temporary access keys), a dozen event
// sources with Zipf-distributed event names, real-looking user agents,
// request parameters and response elements carrying random identifiers,
// resources, TLS details and a few percent of failed calls. A record
// averages about 1.45 KB of compact JSON.
//
// Events come in time order, Step apart, with about one percent arriving
// late (up to five minutes older than their neighbours). A Generator is
// deterministic for a seed and not safe for concurrent use.
type Generator struct {
	rng      *rand.Rand
	now      time.Time
	step     time.Duration
	account  string
	names    *rand.Zipf
	sessions []session
	n        int
	// DataFraction is the share of data events (resources of type
	// AWS::S3::Object), 0 by default.
	DataFraction float64
}

type session struct {
	ident trail.UserIdentity
	uses  int
}

type api struct {
	source, name string
	readOnly     bool
	resType      string
}

var (
	genServices = []struct {
		source  string
		resType string
		names   []string
	}{
		{"orders.example.com", "Example::Orders::Order", []string{"GetOrder", "ListOrders", "CreateOrder", "UpdateOrder", "CancelOrder", "DescribeOrderHistory"}},
		{"payments.example.com", "Example::Payments::Payment", []string{"GetPayment", "ListPayments", "CreatePayment", "RefundPayment", "CapturePayment"}},
		{"inventory.example.com", "Example::Inventory::Item", []string{"GetItem", "ListItems", "PutItem", "ReserveItem", "ReleaseItem", "DescribeStock"}},
		{"accounts.example.com", "Example::Accounts::Customer", []string{"GetCustomer", "ListCustomers", "CreateCustomer", "UpdateCustomer", "DeleteCustomer"}},
		{"shipping.example.com", "Example::Shipping::Shipment", []string{"GetShipment", "ListShipments", "CreateShipment", "UpdateShipmentStatus"}},
		{"catalog.example.com", "Example::Catalog::Product", []string{"GetProduct", "ListProducts", "SearchProducts", "PutProduct", "DeleteProduct"}},
		{"iam.amazonaws.com", "AWS::IAM::User", []string{"GetUser", "ListUsers", "CreateUser", "AttachUserPolicy", "CreateAccessKey", "ListAttachedUserPolicies"}},
		{"sts.amazonaws.com", "AWS::IAM::Role", []string{"AssumeRole", "GetCallerIdentity", "GetSessionToken"}},
		{"kms.amazonaws.com", "AWS::KMS::Key", []string{"Decrypt", "Encrypt", "GenerateDataKey", "DescribeKey", "ListAliases"}},
		{"s3.amazonaws.com", "AWS::S3::Bucket", []string{"ListBuckets", "GetBucketAcl", "GetBucketPolicy", "PutBucketPolicy", "CreateBucket"}},
		{"ec2.amazonaws.com", "AWS::EC2::Instance", []string{"DescribeInstances", "RunInstances", "StopInstances", "DescribeSecurityGroups", "AuthorizeSecurityGroupIngress"}},
		{"signin.amazonaws.com", "", []string{"ConsoleLogin"}},
	}
	genAPIs       []api
	genUserAgents = []string{
		"aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off command/orders.create-order",
		"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/orders#1.12.0",
		"aws-sdk-java/2.25.60 Linux/5.10.219-208.866.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard",
		"Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.144",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"console.amazonaws.com",
		"orders-service/3.14.2 (+https://orders.example.com) grpc-go/1.64.0",
		"terraform-provider-aws/5.57.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.1 os/linux lang/go#1.22.4",
		"aws-sdk-js/3.614.0 ua/2.0 os/linux#5.10.219 lang/js md/nodejs#20.15.1 api/payments#3.614.0",
	}
	genUsers = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "ci-deployer"}
	genRoles    = []string{"OrdersService", "PaymentsService", "Deployer", "ReadOnlyAuditor", "OpsAdmin", "InventorySync"}
	genSessions = []string{"alice@example.com", "bob@example.com", "carol@example.com", "build-4711", "i-0a1b2c3d4e5f60718",
		"orders-7f9c", "payments-2b1d", "botocore-session-1720000000", "dave@example.com", "sync-job"}
	genCiphers = []string{"TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_256_GCM_SHA384"}
	genErrors  = []struct{ code, msg string }{
		{"AccessDenied", "User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the action"},
		{"ValidationException", "1 validation error detected: Value at 'quantity' failed to satisfy constraint: Member must have value greater than or equal to 1 (request %s)"},
		{"ThrottlingException", "Rate exceeded for %s"},
		{"ResourceNotFoundException", "Requested resource not found: %s"},
	}
)

func init() {
	for _, s := range genServices {
		for _, n := range s.names {
			ro := len(n) > 3 && (n[:3] == "Get" || n[:4] == "List" || n[:4] == "Desc" || n[:6] == "Search")
			genAPIs = append(genAPIs, api{source: s.source, name: n, readOnly: ro, resType: s.resType})
		}
	}
}

// NewGenerator returns a generator whose first event happens at start and
// whose events are step apart (step 0 means one second).
func NewGenerator(seed uint64, start time.Time, step time.Duration) *Generator {
	if step <= 0 {
		step = time.Second
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &Generator{rng: rng, now: start.UTC(), step: step, account: "111122223333"}
	g.names = rand.NewZipf(rng, 1.1, 2, uint64(len(genAPIs)-1))
	return g
}

// Names returns every event name the generator uses, most frequent first.
func (g *Generator) Names() []string {
	out := make([]string, len(genAPIs))
	for i, a := range genAPIs {
		out[i] = a.name
	}
	return out
}

func (g *Generator) hex(n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return hex.EncodeToString(b)[:n]
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func (g *Generator) upper(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (g *Generator) uuid() string {
	var u [16]byte
	for i := range u {
		u[i] = byte(g.rng.Uint32())
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (g *Generator) identity() trail.UserIdentity {
	r := g.rng.Float64()
	switch {
	case r < 0.01:
		return trail.UserIdentity{Type: "Root", PrincipalID: g.account, ARN: "arn:aws:iam::" + g.account + ":root",
			AccountID: g.account, AccessKeyID: "ASIAROOT" + g.upper(12)}
	case r < 0.45:
		i := g.rng.IntN(len(genUsers))
		u := genUsers[i]
		return trail.UserIdentity{Type: "IAMUser", PrincipalID: fmt.Sprintf("AIDAEXAMPLEUSER%05d", i),
			ARN: "arn:aws:iam::" + g.account + ":user/" + u, AccountID: g.account,
			AccessKeyID: fmt.Sprintf("AKIAEXAMPLEKEY%06d", i), UserName: u}
	}
	// An assumed-role session, reused for a while, then replaced (temporary
	// credentials rotate).
	if len(g.sessions) < 24 {
		g.sessions = append(g.sessions, g.newSession())
	}
	i := g.rng.IntN(len(g.sessions))
	s := &g.sessions[i]
	s.uses++
	if s.uses > 400 {
		*s = g.newSession()
	}
	return s.ident
}

func (g *Generator) newSession() session {
	ri := g.rng.IntN(len(genRoles))
	role := genRoles[ri]
	name := genSessions[g.rng.IntN(len(genSessions))]
	rolePID := fmt.Sprintf("AROAEXAMPLEROLE%05d", ri)
	id := trail.UserIdentity{
		Type: "AssumedRole", PrincipalID: rolePID + ":" + name,
		ARN:       "arn:aws:sts::" + g.account + ":assumed-role/" + role + "/" + name,
		AccountID: g.account, AccessKeyID: "ASIA" + g.upper(16),
		SessionContext: &trail.SessionContext{
			SessionIssuer: &trail.SessionIssuer{Type: "Role", PrincipalID: rolePID,
				ARN: "arn:aws:iam::" + g.account + ":role/" + role, AccountID: g.account, UserName: role},
			WebIDFederationData: &trail.WebIDFederationData{},
			Attributes: &trail.SessionAttributes{CreationDate: g.now.Format(trail.TimeFormat),
				MFAAuthenticated: strconv.FormatBool(g.rng.IntN(4) == 0)},
		},
	}
	return session{ident: id}
}

// Next returns the next event.
func (g *Generator) Next() trail.Event {
	g.n++
	g.now = g.now.Add(g.step)
	t := g.now
	if g.rng.IntN(100) == 0 {
		t = t.Add(-time.Duration(g.rng.IntN(300)) * time.Second)
	}
	a := genAPIs[g.names.Uint64()]
	host := a.source
	ev := trail.Event{
		EventVersion:       "1.11",
		UserIdentity:       g.identity(),
		EventTime:          t.Truncate(time.Second),
		EventSource:        a.source,
		EventName:          a.name,
		AWSRegion:          "us-east-1",
		SourceIPAddress:    fmt.Sprintf("198.51.100.%d", g.rng.IntN(200)+1),
		UserAgent:          genUserAgents[g.rng.IntN(len(genUserAgents))],
		RequestID:          g.uuid(),
		EventID:            g.uuid(),
		ReadOnly:           trail.Bool(a.readOnly),
		EventType:          trail.EventTypeAPICall,
		ManagementEvent:    trail.Bool(true),
		RecipientAccountID: g.account,
		EventCategory:      trail.CategoryManagement,
		TLSDetails: &trail.TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: genCiphers[g.rng.IntN(len(genCiphers))],
			ClientProvidedHostHeader: host},
	}
	if g.rng.IntN(10) == 0 {
		ev.AWSRegion = "us-west-2"
	}
	if a.name == "ConsoleLogin" {
		ev.EventType = trail.EventTypeConsoleSignIn
		ev.UserAgent = genUserAgents[4]
		ev.ResponseElements = []byte(`{"ConsoleLogin":"Success"}`)
		ev.AdditionalEventData = []byte(`{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true","MobileVersion":"No","MFAUsed":"Yes"}`)
		ev.RequestID = ""
		ev.TLSDetails = nil
		return ev
	}
	id := g.hex(12)
	svc, noun := service(host), noun(a.resType)
	arn := fmt.Sprintf("arn:aws:%s:us-east-1:%s:%s/%s", svc, g.account, noun, id)
	if a.resType != "" && g.rng.IntN(10) < 7 {
		if g.rng.IntN(3) == 0 {
			// A popular resource, seen again and again.
			arn = fmt.Sprintf("arn:aws:%s:us-east-1:%s:%s/shared-%03d", svc, g.account, noun, g.rng.IntN(50))
		}
		ev.Resources = []trail.Resource{{AccountID: g.account, Type: a.resType, ARN: arn}}
		if g.rng.IntN(8) == 0 {
			ev.Resources = append(ev.Resources, trail.Resource{AccountID: g.account, Type: "AWS::KMS::Key",
				ARN: fmt.Sprintf("arn:aws:kms:us-east-1:%s:key/%s", g.account, g.uuid())})
		}
	}
	ev.RequestParameters = fmt.Appendf(nil,
		`{"%sId":"%s","clientToken":"%s","filters":[{"name":"status","values":["OPEN"]}],"maxResults":%d,"tags":[{"key":"cost-center","value":"cc-%04d"}]}`,
		noun, id, g.uuid(), 10+g.rng.IntN(90), g.rng.IntN(40))
	if !a.readOnly {
		ev.ResponseElements = fmt.Appendf(nil,
			`{"%s":{"id":"%s","arn":"%s","status":"CREATED","createdAt":"%s","version":%d,"owner":{"principal":"%s"},"etag":"\"%s\""}}`,
			noun, id, arn, t.Format("Jan 2, 2006, 3:04:05 PM"), g.rng.IntN(20)+1,
			ev.UserIdentity.PrincipalID, g.hex(32))
	}
	if g.rng.IntN(33) == 0 {
		e := genErrors[g.rng.IntN(len(genErrors))]
		ev.ErrorCode = e.code
		ev.ErrorMessage = fmt.Sprintf(e.msg, ev.UserIdentity.ARN, a.source+":"+a.name, arn)
		if e.code != "AccessDenied" {
			ev.ErrorMessage = fmt.Sprintf(e.msg, ev.RequestID)
		}
		ev.ResponseElements = nil
	}
	if g.DataFraction > 0 && g.rng.Float64() < g.DataFraction {
		ev.EventSource = "s3.amazonaws.com"
		ev.EventName = "GetObject"
		ev.ReadOnly = trail.Bool(true)
		ev.ManagementEvent = trail.Bool(false)
		ev.EventCategory = trail.CategoryData
		ev.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::example-bucket/objects/" + id}}
	}
	return ev
}

// service is the first label of an event source ("orders" for
// orders.example.com).
func service(host string) string {
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			return host[:i]
		}
	}
	return host
}

// noun is the lower-cased last segment of a resource type ("order" for
// Example::Orders::Order), or "resource".
func noun(resType string) string {
	i := len(resType)
	for i > 0 && resType[i-1] != ':' {
		i--
	}
	n := []byte(resType[i:])
	if len(n) == 0 {
		return "resource"
	}
	if n[0] >= 'A' && n[0] <= 'Z' {
		n[0] += 'a' - 'A'
	}
	return string(n)
}
