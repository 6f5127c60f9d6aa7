package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/sparkhub/sparkhub/auth"
)

// AuthConfig is how people log in: --auth and the --auth-*, --oidc-*
// and --ldap-* flags. Secrets (the client secret, the service
// account's password) are only ever read from files.
type AuthConfig struct {
	Mode          string
	AllowAll      bool
	AllowedUsers  []string
	AllowedGroups []string
	AdminGroups   []string

	OIDCIssuer           string
	OIDCClientID         string
	OIDCClientSecretFile string
	OIDCRedirectURL      string
	OIDCScopes           []string
	OIDCUsernameClaim    string
	OIDCGroupsClaim      string
	OIDCName             string
	OIDCEndSession       bool
	OIDCClockSkew        time.Duration

	LDAPURL                string
	LDAPInsecurePlain      bool
	LDAPCAFile             string
	LDAPBindDN             string
	LDAPBindPasswordFile   string
	LDAPDNTemplate         string
	LDAPUserBase           string
	LDAPUserFilter         string
	LDAPGroupAttribute     string
	LDAPGroupBase          string
	LDAPGroupFilter        string
	LDAPGroupNameAttribute string
	LDAPTimeout            time.Duration
}

func authDefaults() AuthConfig {
	return AuthConfig{
		Mode:                   "local",
		OIDCScopes:             []string{"profile", "email"},
		OIDCUsernameClaim:      "preferred_username",
		OIDCGroupsClaim:        "groups",
		OIDCClockSkew:          time.Minute,
		LDAPUserFilter:         "(uid={username})",
		LDAPGroupAttribute:     "memberOf",
		LDAPGroupNameAttribute: "cn",
		LDAPTimeout:            10 * time.Second,
	}
}

func (a *AuthConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.Mode, "auth", a.Mode, "how people log in: local (the hub's passwords), oidc (an OpenID Connect provider) or ldap (an LDAP directory or Active Directory)")
	fs.BoolVar(&a.AllowAll, "auth-allow-all", a.AllowAll, "with oidc or ldap, let in everyone the provider vouches for")
	fs.Var((*listFlag)(&a.AllowedUsers), "auth-allowed-users", "with oidc or ldap, comma-separated usernames let in")
	fs.Var((*listFlag)(&a.AllowedGroups), "auth-allowed-groups", "with oidc or ldap, comma-separated provider groups whose members are let in")
	fs.Var((*listFlag)(&a.AdminGroups), "auth-admin-groups", "with oidc or ldap, comma-separated provider groups whose members are let in as admins; leaving them takes admin away at the next login")

	fs.StringVar(&a.OIDCIssuer, "oidc-issuer", a.OIDCIssuer, "the OpenID provider's issuer URL, as its discovery document says it (e.g. https://kc.example.com/realms/corp)")
	fs.StringVar(&a.OIDCClientID, "oidc-client-id", a.OIDCClientID, "the hub's client id at the provider")
	fs.StringVar(&a.OIDCClientSecretFile, "oidc-client-secret-file", a.OIDCClientSecretFile, "file holding the hub's client secret (none: a public client, PKCE only)")
	fs.StringVar(&a.OIDCRedirectURL, "oidc-redirect-url", a.OIDCRedirectURL, "the hub's callback as browsers reach it and the provider has it registered: https://HUB/hub/oauth_callback")
	fs.Var((*listFlag)(&a.OIDCScopes), "oidc-scopes", "comma-separated scopes asked for besides openid")
	fs.StringVar(&a.OIDCUsernameClaim, "oidc-username-claim", a.OIDCUsernameClaim, "the ID token claim that is the username (lowercased; refused unless it fits the username rule)")
	fs.StringVar(&a.OIDCGroupsClaim, "oidc-groups-claim", a.OIDCGroupsClaim, "the ID token claim listing the person's groups (empty: none)")
	fs.StringVar(&a.OIDCName, "oidc-name", a.OIDCName, "the provider's name on the login page's \"Sign in with\" button (default: the issuer's host)")
	fs.BoolVar(&a.OIDCEndSession, "oidc-end-session", a.OIDCEndSession, "logging out of the hub also ends the session at the provider (its end_session_endpoint)")
	fs.DurationVar(&a.OIDCClockSkew, "oidc-clock-skew", a.OIDCClockSkew, "how far the provider's clock may be ahead of the hub's for an ID token's expiry")

	fs.StringVar(&a.LDAPURL, "ldap-url", a.LDAPURL, "the directory: ldaps://host:636, or ldap://host:389 upgraded with StartTLS")
	fs.BoolVar(&a.LDAPInsecurePlain, "ldap-insecure-plain", a.LDAPInsecurePlain, "talk to an ldap:// directory without TLS: passwords cross the network in the clear")
	fs.StringVar(&a.LDAPCAFile, "ldap-ca-file", a.LDAPCAFile, "PEM file of the CAs the directory's certificate is checked against (default: the system's)")
	fs.StringVar(&a.LDAPBindDN, "ldap-bind-dn", a.LDAPBindDN, "the service account that finds people's entries (search-then-bind)")
	fs.StringVar(&a.LDAPBindPasswordFile, "ldap-bind-password-file", a.LDAPBindPasswordFile, "file holding the service account's password")
	fs.StringVar(&a.LDAPDNTemplate, "ldap-dn-template", a.LDAPDNTemplate, "instead of a search, a person's DN with {username}, e.g. uid={username},ou=people,dc=example,dc=com")
	fs.StringVar(&a.LDAPUserBase, "ldap-user-base", a.LDAPUserBase, "where the search for people starts, e.g. ou=people,dc=example,dc=com")
	fs.StringVar(&a.LDAPUserFilter, "ldap-user-filter", a.LDAPUserFilter, "the search for a person, with {username} (escaped); for Active Directory (sAMAccountName={username})")
	fs.StringVar(&a.LDAPGroupAttribute, "ldap-group-attribute", a.LDAPGroupAttribute, "the attribute of a person's entry listing their groups' DNs; a group's name is its DN's first value")
	fs.StringVar(&a.LDAPGroupBase, "ldap-group-base", a.LDAPGroupBase, "instead of --ldap-group-attribute, search for groups from here")
	fs.StringVar(&a.LDAPGroupFilter, "ldap-group-filter", a.LDAPGroupFilter, "the group search, with {dn} or {username} (escaped), e.g. (member={dn})")
	fs.StringVar(&a.LDAPGroupNameAttribute, "ldap-group-name-attribute", a.LDAPGroupNameAttribute, "a found group's attribute that is its name")
	fs.DurationVar(&a.LDAPTimeout, "ldap-timeout", a.LDAPTimeout, "how long one login may take at the directory")
}

// finish checks the settings.
func (a *AuthConfig) finish() error {
	switch a.Mode {
	case "local":
		return nil
	case "oidc":
		if a.OIDCIssuer == "" || a.OIDCClientID == "" || a.OIDCRedirectURL == "" {
			return errors.New("--auth oidc needs --oidc-issuer, --oidc-client-id and --oidc-redirect-url")
		}
		if u, err := url.Parse(a.OIDCIssuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			return fmt.Errorf("--oidc-issuer must be an https:// URL (http:// only on this machine), not %q", a.OIDCIssuer)
		}
		if u, err := url.Parse(a.OIDCRedirectURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "/hub/oauth_callback" {
			return fmt.Errorf("--oidc-redirect-url must be http(s)://HOST/hub/oauth_callback, not %q", a.OIDCRedirectURL)
		}
		if a.OIDCUsernameClaim == "" {
			return errors.New("--oidc-username-claim must name a claim")
		}
	case "ldap":
		if a.LDAPURL == "" {
			return errors.New("--auth ldap needs --ldap-url")
		}
	default:
		return fmt.Errorf("--auth must be local, oidc or ldap, not %q", a.Mode)
	}
	if !a.AllowAll && len(a.AllowedUsers) == 0 && len(a.AllowedGroups) == 0 && len(a.AdminGroups) == 0 {
		return fmt.Errorf("--auth %s needs who may log in: --auth-allowed-groups, --auth-allowed-users, --auth-admin-groups or --auth-allow-all", a.Mode)
	}
	return nil
}

// apply sets up --auth oidc or ldap in opts: the provider is discovered
// (OIDC) or the directory's settings checked (LDAP), and secrets read
// from their files. groups receives each login's groups.
func (a *AuthConfig) apply(ctx context.Context, opts *auth.Options, groups auth.GroupSyncer) error {
	opts.Admission = auth.Admission{AllowAll: a.AllowAll, AllowedUsers: a.AllowedUsers, AllowedGroups: a.AllowedGroups, AdminGroups: a.AdminGroups, Groups: groups}
	switch a.Mode {
	case "oidc":
		secret := ""
		if a.OIDCClientSecretFile != "" {
			var err error
			if secret, err = readSecret(a.OIDCClientSecretFile); err != nil {
				return fmt.Errorf("--oidc-client-secret-file: %w", err)
			}
		}
		ru, _ := url.Parse(a.OIDCRedirectURL)
		name := a.OIDCName
		if name == "" {
			if iu, err := url.Parse(a.OIDCIssuer); err == nil {
				name = iu.Hostname()
			}
		}
		o, err := auth.NewOIDC(ctx, auth.OIDCConfig{
			Issuer: a.OIDCIssuer, ClientID: a.OIDCClientID, ClientSecret: secret, RedirectURL: a.OIDCRedirectURL,
			Scopes: a.OIDCScopes, UsernameClaim: a.OIDCUsernameClaim, GroupsClaim: a.OIDCGroupsClaim, Name: name,
			EndSession: a.OIDCEndSession, PostLogoutURL: ru.Scheme + "://" + ru.Host + "/hub/login", ClockSkew: a.OIDCClockSkew,
		})
		if err != nil {
			return err
		}
		opts.OIDC = o
	case "ldap":
		cfg := auth.LDAPConfig{
			URL: a.LDAPURL, Plain: a.LDAPInsecurePlain, BindDN: a.LDAPBindDN, DNTemplate: a.LDAPDNTemplate,
			UserBase: a.LDAPUserBase, UserFilter: a.LDAPUserFilter, GroupAttribute: a.LDAPGroupAttribute,
			GroupBase: a.LDAPGroupBase, GroupFilter: a.LDAPGroupFilter, GroupNameAttribute: a.LDAPGroupNameAttribute,
			Timeout: a.LDAPTimeout, TLS: &tls.Config{MinVersion: tls.VersionTLS12},
		}
		if a.LDAPBindPasswordFile != "" {
			var err error
			if cfg.BindPassword, err = readSecret(a.LDAPBindPasswordFile); err != nil {
				return fmt.Errorf("--ldap-bind-password-file: %w", err)
			}
		}
		if a.LDAPCAFile != "" {
			pem, err := os.ReadFile(a.LDAPCAFile)
			if err != nil {
				return fmt.Errorf("--ldap-ca-file: %w", err)
			}
			cfg.TLS.RootCAs = x509.NewCertPool()
			if !cfg.TLS.RootCAs.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--ldap-ca-file %s holds no PEM certificate", a.LDAPCAFile)
			}
		}
		l, err := auth.NewLDAP(cfg)
		if err != nil {
			return err
		}
		opts.LDAP = l
	}
	return nil
}

// isLoopback reports whether host is this machine: localhost or a
// loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
