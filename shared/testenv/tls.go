package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/fngate/fngate/shared/natsserver"
)

// PKI is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate it signed, as PEM files in a temporary directory.
type PKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// NewPKI generates a PKI valid for an hour.
func NewPKI(t testing.TB) PKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() (*ecdsa.PrivateKey, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return k, der
	}
	now := time.Now()
	caKey, _ := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fngate test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) (cert, key []byte) {
		k, keyDER := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, keyDER
	}
	srv, srvKey := leaf(2, "nats-server", x509.ExtKeyUsageServerAuth)
	cli, cliKey := leaf(3, "fngate-client", x509.ExtKeyUsageClientAuth)
	return PKI{
		CA:         write("ca.pem", "CERTIFICATE", caDER),
		ServerCert: write("server.pem", "CERTIFICATE", srv),
		ServerKey:  write("server-key.pem", "PRIVATE KEY", srvKey),
		ClientCert: write("client.pem", "CERTIFICATE", cli),
		ClientKey:  write("client-key.pem", "PRIVATE KEY", cliKey),
	}
}

// NATSSecure starts an in-process nats-server with JetStream on 127.0.0.1
// that requires TLS with a client certificate signed by its PKI's CA, and
// the user and password given; its max_payload is the embedded server's.
func NATSSecure(t testing.TB, user, password string) (*server.Server, PKI) {
	t.Helper()
	p := NewPKI(t)
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: p.ServerCert, KeyFile: p.ServerKey, CaFile: p.CA, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	return StartServer(t, &server.Options{
		JetStream: true, StoreDir: t.TempDir(), MaxPayload: natsserver.DefaultMaxPayload,
		TLS: true, TLSConfig: tc, TLSVerify: true, TLSTimeout: 5,
		Username: user, Password: password,
	}), p
}

// StartServer starts an in-process nats-server with opts on 127.0.0.1 and a
// free port, stopped at cleanup.
func StartServer(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	return StartServerOn(t, -1, opts)
}

// StartServerOn is StartServer on a given port: a server restarted on the
// address its clients reconnect to.
func StartServerOn(t testing.TB, port int, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", port, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}
