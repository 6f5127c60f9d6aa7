package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig is how the hub checks passwords with an LDAP directory or
// Active Directory (--ldap-*).
type LDAPConfig struct {
	// URL is ldaps://host:636 or ldap://host:389; ldap:// is upgraded
	// with StartTLS unless Plain is set.
	URL   string
	Plain bool
	// TLS verifies the directory's certificate (its RootCAs from
	// --ldap-ca-file, the system's otherwise).
	TLS *tls.Config

	// BindDN and BindPassword are the service account that finds a
	// person's entry: search-then-bind. Without them, DNTemplate makes
	// the entry's DN from the username ({username}, escaped as a DN
	// value).
	BindDN, BindPassword string
	DNTemplate           string
	// UserBase and UserFilter find the entry: UserFilter has
	// {username}, escaped as a filter value, e.g. (uid={username}) or
	// (sAMAccountName={username}).
	UserBase, UserFilter string

	// GroupAttribute is read from the person's entry for their groups
	// (memberOf); with GroupBase, GroupFilter searches for them instead,
	// {dn} being the person's DN and {username} their name, both escaped.
	// A group's name is the first value of its RDN (cn=analysts,... is
	// analysts), or of GroupNameAttribute on a group search.
	GroupAttribute     string
	GroupBase          string
	GroupFilter        string
	GroupNameAttribute string
	Timeout            time.Duration
}

// LDAP checks passwords with a directory.
type LDAP struct{ cfg LDAPConfig }

// NewLDAP checks the configuration.
func NewLDAP(cfg LDAPConfig) (*LDAP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("--ldap-url must be ldaps://host[:port] or ldap://host[:port], not %q", cfg.URL)
	}
	if (cfg.BindDN == "") == (cfg.DNTemplate == "") {
		return nil, errors.New("give --ldap-bind-dn (with --ldap-bind-password-file) for search-then-bind, or --ldap-dn-template, not both")
	}
	if cfg.BindDN != "" && (cfg.UserBase == "" || !strings.Contains(cfg.UserFilter, "{username}")) {
		return nil, errors.New("search-then-bind needs --ldap-user-base and an --ldap-user-filter with {username}")
	}
	if cfg.BindDN != "" && cfg.BindPassword == "" {
		return nil, errors.New("--ldap-bind-dn needs --ldap-bind-password-file")
	}
	if cfg.DNTemplate != "" && !strings.Contains(cfg.DNTemplate, "{username}") {
		return nil, errors.New("--ldap-dn-template must hold {username}")
	}
	if cfg.GroupBase != "" {
		if cfg.GroupFilter == "" {
			return nil, errors.New("--ldap-group-base needs --ldap-group-filter")
		}
		cfg.GroupAttribute = ""
	}
	if cfg.GroupNameAttribute == "" {
		cfg.GroupNameAttribute = "cn"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{}
	}
	if cfg.TLS.ServerName == "" {
		cfg.TLS = cfg.TLS.Clone()
		cfg.TLS.ServerName = u.Hostname()
	}
	return &LDAP{cfg: cfg}, nil
}

// ErrDirectory is the directory failing (down, slow, misconfigured):
// not the person's fault, and not a wrong password.
var ErrDirectory = errors.New("the directory")

// Authenticate checks name and password: the person's entry is found
// (search-then-bind, or the DN template), bound to with the password,
// and their groups read. A wrong password, a name with no entry or with
// several, and an empty password are all ErrBadCredentials. Every value
// put in a filter or a DN is escaped.
func (l *LDAP) Authenticate(ctx context.Context, name, password string) (Identity, error) {
	if ValidateName(name) != nil {
		return Identity{}, ErrBadCredentials
	}
	return l.authenticate(ctx, name, password)
}

// authenticate is Authenticate for any name: the escaping alone keeps
// it to its own entry.
func (l *LDAP) authenticate(ctx context.Context, name, password string) (Identity, error) {
	if password == "" {
		// An empty password would be an unauthenticated bind, which
		// directories accept for any DN.
		return Identity{}, ErrBadCredentials
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	conn, err := l.connect(ctx)
	if err != nil {
		return Identity{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var dn string
	var entry *ldap.Entry
	if l.cfg.BindDN != "" {
		if err := conn.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
			return Identity{}, fmt.Errorf("%w: bind as the service account: %w", ErrDirectory, err)
		}
		filter := strings.ReplaceAll(l.cfg.UserFilter, "{username}", ldap.EscapeFilter(name))
		res, err := conn.Search(ldap.NewSearchRequest(l.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			2, int(l.cfg.Timeout/time.Second), false, filter, l.attrs(), nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return Identity{}, fmt.Errorf("%w: find the user: %w", ErrDirectory, err)
		}
		if res == nil || len(res.Entries) != 1 {
			return Identity{}, ErrBadCredentials
		}
		entry = res.Entries[0]
		dn = entry.DN
	} else {
		dn = strings.ReplaceAll(l.cfg.DNTemplate, "{username}", ldap.EscapeDN(name))
	}
	if err := conn.Bind(dn, password); ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return Identity{}, ErrBadCredentials
	} else if err != nil {
		return Identity{}, fmt.Errorf("%w: bind as the user: %w", ErrDirectory, err)
	}
	if entry == nil && l.cfg.GroupAttribute != "" {
		// Bound as the person: read their own entry.
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, int(l.cfg.Timeout/time.Second), false, "(objectClass=*)", l.attrs(), nil))
		if err != nil || len(res.Entries) != 1 {
			return Identity{}, fmt.Errorf("%w: read the user's entry: %v", ErrDirectory, err)
		}
		entry = res.Entries[0]
	}
	groups, err := l.groups(conn, name, dn, entry)
	if err != nil {
		return Identity{}, err
	}
	return Identity{Name: name, Groups: groups}, nil
}

func (l *LDAP) attrs() []string {
	if l.cfg.GroupAttribute != "" {
		return []string{l.cfg.GroupAttribute}
	}
	return []string{"1.1"}
}

// groups are the person's groups' names: from their entry's
// GroupAttribute, or a group search.
func (l *LDAP) groups(conn *ldap.Conn, name, dn string, entry *ldap.Entry) ([]string, error) {
	var out []string
	if l.cfg.GroupAttribute != "" {
		for _, g := range entry.GetEqualFoldAttributeValues(l.cfg.GroupAttribute) {
			if n := rdnValue(g); n != "" {
				out = append(out, n)
			}
		}
		return out, nil
	}
	if l.cfg.GroupBase == "" {
		return nil, nil
	}
	filter := strings.NewReplacer("{dn}", ldap.EscapeFilter(dn), "{username}", ldap.EscapeFilter(name)).Replace(l.cfg.GroupFilter)
	res, err := conn.Search(ldap.NewSearchRequest(l.cfg.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, int(l.cfg.Timeout/time.Second), false, filter, []string{l.cfg.GroupNameAttribute}, nil))
	if err != nil {
		return nil, fmt.Errorf("%w: find the user's groups: %w", ErrDirectory, err)
	}
	for _, e := range res.Entries {
		if n := e.GetEqualFoldAttributeValue(l.cfg.GroupNameAttribute); n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

// rdnValue is the value of a DN's first attribute: analysts for
// cn=analysts,ou=groups,dc=example,dc=com; "" when dn does not parse.
func rdnValue(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return ""
	}
	return d.RDNs[0].Attributes[0].Value
}

// connect dials the directory over TLS: ldaps://, or ldap:// with
// StartTLS unless Plain.
func (l *LDAP) connect(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: l.cfg.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err := ldap.DialURL(l.cfg.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(l.cfg.TLS))
	if err != nil {
		return nil, fmt.Errorf("%w: connect: %w", ErrDirectory, err)
	}
	conn.SetTimeout(l.cfg.Timeout)
	if strings.HasPrefix(l.cfg.URL, "ldap://") && !l.cfg.Plain {
		if err := conn.StartTLS(l.cfg.TLS); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: StartTLS: %w", ErrDirectory, err)
		}
	}
	return conn, nil
}
