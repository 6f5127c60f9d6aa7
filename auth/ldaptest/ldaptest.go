// Package ldaptest runs Debian's slapd for tests: on loopback, with a
// configuration and a directory of its own in a temporary folder, TLS
// from a CA made here, and a seeded directory of people and groups.
package ldaptest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sparkhub/sparkhub/internal/needtest"
)

const (
	// Base is the directory's suffix.
	Base = "dc=example,dc=test"
	// People and Groups are where its people and groups are.
	People = "ou=people," + Base
	Groups = "ou=groups," + Base
	// ReaderDN and ReaderPassword are the service account.
	ReaderDN       = "cn=reader," + Base
	ReaderPassword = "reader-secret"
	rootDN         = "cn=admin," + Base
	rootPW         = "root-secret"
	slapdPath      = "/usr/sbin/slapd"
)

// Person is an entry of the directory: uid Name under OU (relative to
// People, "" for People itself), named by RDN when set (else
// uid=Name), with Password and membership of Groups.
type Person struct {
	Name, Password, OU, RDN string
	Groups                  []string
}

// DN is the person's entry.
func (p Person) DN() string {
	rdn := p.RDN
	if rdn == "" {
		rdn = "uid=" + ldap.EscapeDN(p.Name)
	}
	base := People
	if p.OU != "" {
		base = p.OU + "," + People
	}
	return rdn + "," + base
}

// Directory is a running slapd.
type Directory struct {
	// URL is the ldap:// listener (plain or StartTLS), LDAPS the
	// ldaps:// one.
	URL, LDAPS string
	// CAs trusts the server's certificate; CAFile holds it in PEM.
	CAs    *x509.CertPool
	CAFile string
}

// Start runs slapd seeded with people; it stops when the test ends.
func Start(t testing.TB, people []Person) *Directory {
	t.Helper()
	if _, err := os.Stat(slapdPath); err != nil {
		needtest.Missing(t, "slapd is not installed (apt-get install slapd ldap-utils)")
	}
	dir := t.TempDir()
	cas := writeTLS(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile %[1]s/slapd.pid
TLSCACertificateFile %[1]s/ca.pem
TLSCertificateFile %[1]s/server.pem
TLSCertificateKeyFile %[1]s/server.key
database mdb
maxsize 16777216
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
overlay memberof
`, dir, Base, rootDN, rootPW)
	if err := os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	plain, tlsPort := freePort(t), freePort(t)
	d := &Directory{URL: "ldap://127.0.0.1:" + plain, LDAPS: "ldaps://127.0.0.1:" + tlsPort, CAs: cas, CAFile: filepath.Join(dir, "ca.pem")}
	var out bytes.Buffer
	cmd := exec.Command(slapdPath, "-d", "0", "-h", d.URL+"/ "+d.LDAPS+"/", "-f", filepath.Join(dir, "slapd.conf"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	conn := d.waitUp(t, exited, &out)
	defer conn.Close()
	d.seed(t, conn, people)
	return d
}

// waitUp waits until slapd takes a bind as its root, or fails t when it
// exits first or does not come up in a minute.
func (d *Directory) waitUp(t testing.TB, exited chan error, out *bytes.Buffer) *ldap.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := ldap.DialURL(d.URL); err == nil {
			if err := c.Bind(rootDN, rootPW); err == nil {
				return c
			}
			c.Close()
		}
		select {
		case err := <-exited:
			t.Fatalf("slapd exited: %v\n%s", err, out)
		case <-ctx.Done():
			t.Fatalf("slapd did not come up:\n%s", out)
		case <-tick.C:
		}
	}
}

// seed adds the base, the service account, the people and their groups;
// groups come last, so that the memberof overlay fills memberOf.
func (d *Directory) seed(t testing.TB, c *ldap.Conn, people []Person) {
	t.Helper()
	add := func(dn string, attrs map[string][]string) {
		t.Helper()
		r := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			r.Attribute(k, v)
		}
		if err := c.Add(r); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	add(Base, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	add(ReaderDN, map[string][]string{"objectClass": {"person", "simpleSecurityObject"}, "cn": {"reader"}, "sn": {"reader"}, "userPassword": {ReaderPassword}})
	add(People, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	add(Groups, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	members := map[string][]string{}
	var order []string
	for _, p := range people {
		if p.OU != "" {
			ou := strings.TrimPrefix(p.OU, "ou=")
			add(p.OU+","+People, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {ou}})
		}
		add(p.DN(), map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {p.Name}, "cn": {p.Name}, "sn": {"Test"}, "userPassword": {p.Password}})
		for _, g := range p.Groups {
			if members[g] == nil {
				order = append(order, g)
			}
			members[g] = append(members[g], p.DN())
		}
	}
	for _, g := range order {
		add("cn="+ldap.EscapeDN(g)+","+Groups, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {g}, "member": members[g]})
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// writeTLS makes a CA and a server certificate for 127.0.0.1 and
// localhost signed by it, writes ca.pem, server.pem and server.key in
// dir, and returns a pool trusting the CA.
func writeTLS(t testing.TB, dir string) *x509.CertPool {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sparkhub test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", leafDER)
	write("server.key", "PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool
}

// TLS is a client configuration that trusts the directory.
func (d *Directory) TLS() *tls.Config {
	return &tls.Config{RootCAs: d.CAs, MinVersion: tls.VersionTLS12}
}
