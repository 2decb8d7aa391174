package natsconn_test

import (
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/fngate/fngate/shared/testenv"
)

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// operator is the trust of a nats-server in operator mode: an operator and
// one account it signed, whose users log in with .creds files.
type operator struct {
	t          *testing.T
	opub, apub string
	ajwt       string
	akp        nkeys.KeyPair
}

func newOperator(t *testing.T) operator {
	t.Helper()
	okp, err := nkeys.CreateOperator()
	must(t, err)
	opub, _ := okp.PublicKey()
	akp, err := nkeys.CreateAccount()
	must(t, err)
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	must(t, err)
	return operator{t: t, opub: opub, apub: apub, ajwt: ajwt, akp: akp}
}

// user makes a new user of the account: its public key and .creds file.
func (o operator) user() (pub string, creds []byte) {
	o.t.Helper()
	ukp, err := nkeys.CreateUser()
	must(o.t, err)
	pub, _ = ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(pub).Encode(o.akp)
	must(o.t, err)
	seed, _ := ukp.Seed()
	creds, err = jwt.FormatUserConfig(ujwt, seed)
	must(o.t, err)
	return pub, creds
}

// server starts a nats-server that trusts the operator and knows its account.
func (o operator) server() *server.Server {
	o.t.Helper()
	resolver := &server.MemAccResolver{}
	must(o.t, resolver.Store(o.apub, o.ajwt))
	return testenv.StartServer(o.t, &server.Options{TrustedOperators: []*jwt.OperatorClaims{jwt.NewOperatorClaims(o.opub)}, AccountResolver: resolver})
}
