package eventbridge

import (
	"context"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// Limits of connections and API destinations, as EventBridge's.
const (
	maxConnectionNameLen  = 64
	maxAuthFieldLen       = 512
	maxEndpointLen        = 2047
	maxHTTPParams         = 100
	defaultRateLimit      = 300
	maxRateLimit          = 100000
	connectionAuthorized  = "AUTHORIZED"
	connectionDeauthorize = "DEAUTHORIZED"
)

// Authorization types.
const (
	authAPIKey = "API_KEY"
	authBasic  = "BASIC"
	authOAuth  = "OAUTH_CLIENT_CREDENTIALS"
)

// connParam is a ConnectionHeaderParameter, ConnectionQueryStringParameter
// or ConnectionBodyParameter.
type connParam struct {
	Key           *string `json:"Key"`
	Value         *string `json:"Value,omitempty"`
	IsValueSecret bool    `json:"IsValueSecret"`
}

// connHTTPParams are a connection's InvocationHttpParameters.
type connHTTPParams struct {
	HeaderParameters      []connParam `json:"HeaderParameters,omitempty"`
	QueryStringParameters []connParam `json:"QueryStringParameters,omitempty"`
	BodyParameters        []connParam `json:"BodyParameters,omitempty"`
}

// authParams are a connection's AuthParameters as CreateConnection and
// UpdateConnection take them.
type authParams struct {
	APIKey *struct {
		APIKeyName  *string `json:"ApiKeyName"`
		APIKeyValue *string `json:"ApiKeyValue"`
	} `json:"ApiKeyAuthParameters"`
	Basic *struct {
		Username *string `json:"Username"`
		Password *string `json:"Password"`
	} `json:"BasicAuthParameters"`
	OAuth                  *unsupportedParam `json:"OAuthParameters"`
	ConnectivityParameters *unsupportedParam `json:"ConnectivityParameters"`
	InvocationHTTP         *connHTTPParams   `json:"InvocationHttpParameters"`
}

// connection is a connection as the metadata store keeps it, secrets
// included; they are never returned.
type connection struct {
	Name           string          `json:"name"`
	ID             string          `json:"id"`
	Description    string          `json:"description,omitempty"`
	AuthType       string          `json:"auth_type"`
	APIKeyName     string          `json:"api_key_name,omitempty"`
	APIKeyValue    string          `json:"api_key_value,omitempty"`
	Username       string          `json:"username,omitempty"`
	Password       string          `json:"password,omitempty"`
	HTTP           *connHTTPParams `json:"http,omitempty"`
	State          string          `json:"state"`
	Created        time.Time       `json:"created"`
	Modified       time.Time       `json:"modified"`
	LastAuthorized time.Time       `json:"last_authorized,omitzero"`
}

// apiDestination is an API destination as the metadata store keeps it.
type apiDestination struct {
	Name          string    `json:"name"`
	ID            string    `json:"id"`
	Description   string    `json:"description,omitempty"`
	ConnectionArn string    `json:"connection_arn"`
	Endpoint      string    `json:"endpoint"`
	Method        string    `json:"method"`
	RateLimit     int32     `json:"rate_limit"`
	Created       time.Time `json:"created"`
	Modified      time.Time `json:"modified"`
}

func (s *Service) connectionARN(c *connection) string {
	return s.env.ARN("events", "connection/"+c.Name+"/"+c.ID)
}

func (s *Service) destinationARN(d *apiDestination) string {
	return s.env.ARN("events", "api-destination/"+d.Name+"/"+d.ID)
}

// getConnection loads a connection by name.
func (s *Service) getConnection(name string) (*connection, error) {
	var c connection
	found, err := s.env.Meta.Get(connectionKey+name, &c)
	if err != nil {
		return nil, metaErr(err)
	}
	if !found {
		return nil, notFoundf("Connection '%s' does not exist.", name)
	}
	return &c, nil
}

// connectionByARN loads the connection an ARN names, checking its ID.
func (s *Service) connectionByARN(field, arn string) (*connection, error) {
	res, err := s.env.ParseOwnARN(arn, "events", "ValidationException")
	if err != nil {
		return nil, validationf("%s: %s", field, awsapi.AsError(err).Message)
	}
	rest, ok := strings.CutPrefix(res, "connection/")
	name, id, _ := strings.Cut(rest, "/")
	if !ok || name == "" {
		return nil, validationf("%s %q is not a connection ARN (arn:aws:events:REGION:ACCOUNT:connection/NAME/ID)", field, awsapi.Truncate(arn, 256))
	}
	c, err := s.getConnection(name)
	if err != nil {
		return nil, err
	}
	if id != c.ID {
		return nil, notFoundf("Connection '%s' does not exist.", arn)
	}
	return c, nil
}

// getDestination loads an API destination by name.
func (s *Service) getDestination(name string) (*apiDestination, error) {
	var d apiDestination
	found, err := s.env.Meta.Get(destinationKey+name, &d)
	if err != nil {
		return nil, metaErr(err)
	}
	if !found {
		return nil, notFoundf("An api-destination '%s' does not exist.", name)
	}
	return &d, nil
}

// namedRequest decodes the body of a connection or API destination
// action whose one member is Name, checks the name and then perm on every
// bus (connections and API destinations belong to no bus), and returns
// the name.
func (s *Service) namedRequest(ctx context.Context, body []byte, perm awsapi.Permission) (string, error) {
	var in struct {
		Name string `json:"Name"`
	}
	if err := decode(body, &in); err != nil {
		return "", err
	}
	if err := checkName("name", in.Name, maxConnectionNameLen); err != nil {
		return "", err
	}
	return in.Name, s.env.Authorize(ctx, perm, "bus", "*")
}

// checkConnHTTP checks a connection's invocation HTTP parameters: header
// and query string parameters courier can send; body parameters it
// cannot (it posts the event as it is).
func checkConnHTTP(p *connHTTPParams) error {
	if p == nil {
		return nil
	}
	if len(p.BodyParameters) > 0 {
		return validationf("InvocationHttpParameters.BodyParameters are not supported: courier posts the event (or the target's input) as it is, without adding body parameters")
	}
	if len(p.HeaderParameters)+len(p.QueryStringParameters) > maxHTTPParams {
		return validationf("InvocationHttpParameters: at most %d header and query string parameters", maxHTTPParams)
	}
	for i, h := range p.HeaderParameters {
		if h.Key == nil || !validHeaderName(*h.Key) {
			return validationf("InvocationHttpParameters.HeaderParameters[%d].Key is not a header name", i)
		}
		if err := checkText("InvocationHttpParameters.HeaderParameters.Value", str(h.Value), maxAuthFieldLen); err != nil {
			return err
		}
	}
	for i, q := range p.QueryStringParameters {
		if q.Key == nil || *q.Key == "" || len(*q.Key) > maxAuthFieldLen {
			return validationf("InvocationHttpParameters.QueryStringParameters[%d].Key must have 1 to %d characters", i, maxAuthFieldLen)
		}
		if err := checkText("InvocationHttpParameters.QueryStringParameters.Value", str(q.Value), maxAuthFieldLen); err != nil {
			return err
		}
	}
	return nil
}

// validHeaderName reports whether s is an HTTP header name (a token).
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// applyAuth sets c's authorization from p for authType; update keeps the
// fields p leaves out.
func applyAuth(c *connection, authType string, p *authParams, update bool) error {
	if authType == authOAuth || p != nil && p.OAuth != nil && p.OAuth.set {
		return validationf("AuthorizationType OAUTH_CLIENT_CREDENTIALS is not supported: courier's API destinations send a fixed header (API_KEY) or basic credentials (BASIC); it does not fetch OAuth tokens")
	}
	if p != nil && p.ConnectivityParameters != nil && p.ConnectivityParameters.set {
		return validationf("AuthParameters.ConnectivityParameters are not supported: courier reaches endpoints directly, not through VPC Lattice resources")
	}
	if authType != authAPIKey && authType != authBasic {
		return validationf("1 validation error detected: Value '%s' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [API_KEY, BASIC, OAUTH_CLIENT_CREDENTIALS]", awsapi.Truncate(authType, 64))
	}
	changed := authType != c.AuthType
	if changed {
		c.APIKeyName, c.APIKeyValue, c.Username, c.Password = "", "", "", ""
	}
	c.AuthType = authType
	if p != nil && p.APIKey != nil {
		if authType != authAPIKey {
			return validationf("ApiKeyAuthParameters apply to AuthorizationType API_KEY only")
		}
		if p.APIKey.APIKeyName != nil {
			c.APIKeyName = *p.APIKey.APIKeyName
		}
		if p.APIKey.APIKeyValue != nil {
			c.APIKeyValue = *p.APIKey.APIKeyValue
		}
	}
	if p != nil && p.Basic != nil {
		if authType != authBasic {
			return validationf("BasicAuthParameters apply to AuthorizationType BASIC only")
		}
		if p.Basic.Username != nil {
			c.Username = *p.Basic.Username
		}
		if p.Basic.Password != nil {
			c.Password = *p.Basic.Password
		}
	}
	if p != nil && p.InvocationHTTP != nil {
		if err := checkConnHTTP(p.InvocationHTTP); err != nil {
			return err
		}
		c.HTTP = p.InvocationHTTP
	}
	switch authType {
	case authAPIKey:
		if !validHeaderName(c.APIKeyName) || c.APIKeyValue == "" || len(c.APIKeyValue) > maxAuthFieldLen {
			if update && !changed && c.State == connectionDeauthorize && p == nil {
				break
			}
			return validationf("AuthParameters.ApiKeyAuthParameters needs ApiKeyName (a header name) and ApiKeyValue (1 to %d characters)", maxAuthFieldLen)
		}
		if err := checkText("ApiKeyValue", c.APIKeyValue, maxAuthFieldLen); err != nil {
			return err
		}
	case authBasic:
		if c.Username == "" || c.Password == "" || len(c.Username) > maxAuthFieldLen || len(c.Password) > maxAuthFieldLen || strings.Contains(c.Username, ":") {
			if update && !changed && c.State == connectionDeauthorize && p == nil {
				break
			}
			return validationf("AuthParameters.BasicAuthParameters needs Username (without ':') and Password, each 1 to %d characters", maxAuthFieldLen)
		}
	}
	return nil
}

// connSettings are the members of CreateConnection and UpdateConnection
// that courier does not implement.
type connSettings struct {
	InvocationConnectivityParameters *unsupportedParam `json:"InvocationConnectivityParameters"`
	KmsKeyIdentifier                 *unsupportedParam `json:"KmsKeyIdentifier"`
}

// refuse fails when an unsupported setting is given.
func (c connSettings) refuse() error {
	return refuse(
		refusal{"InvocationConnectivityParameters", c.InvocationConnectivityParameters, "courier reaches endpoints directly, not through VPC Lattice resources"},
		refusal{"KmsKeyIdentifier", c.KmsKeyIdentifier, "courier does not encrypt connections with customer keys"},
	)
}

// connectionOut is what DescribeConnection returns; secrets are left out.
type connectionOut struct {
	Name               string     `json:"Name"`
	ConnectionArn      string     `json:"ConnectionArn"`
	Description        *string    `json:"Description,omitempty"`
	AuthorizationType  string     `json:"AuthorizationType"`
	ConnectionState    string     `json:"ConnectionState"`
	StateReason        *string    `json:"StateReason,omitempty"`
	CreationTime       *epochTime `json:"CreationTime,omitempty"`
	LastModifiedTime   *epochTime `json:"LastModifiedTime,omitempty"`
	LastAuthorizedTime *epochTime `json:"LastAuthorizedTime,omitempty"`
	AuthParameters     *authOut   `json:"AuthParameters,omitempty"`
}

// authOut are a connection's AuthParameters as DescribeConnection returns
// them: without secrets.
type authOut struct {
	APIKey *struct {
		APIKeyName string `json:"ApiKeyName"`
	} `json:"ApiKeyAuthParameters,omitempty"`
	Basic *struct {
		Username string `json:"Username"`
	} `json:"BasicAuthParameters,omitempty"`
	InvocationHTTP *connHTTPParams `json:"InvocationHttpParameters,omitempty"`
}

// connectionState is the answer of the actions that change a
// connection's state.
type connectionState struct {
	ConnectionArn      string     `json:"ConnectionArn"`
	ConnectionState    string     `json:"ConnectionState"`
	CreationTime       *epochTime `json:"CreationTime,omitempty"`
	LastModifiedTime   *epochTime `json:"LastModifiedTime,omitempty"`
	LastAuthorizedTime *epochTime `json:"LastAuthorizedTime,omitempty"`
}

func (s *Service) stateOf(c *connection) connectionState {
	return connectionState{s.connectionARN(c), c.State, newEpoch(c.Created), newEpoch(c.Modified), newEpoch(c.LastAuthorized)}
}

// hideSecrets returns p without the values marked secret.
func hideSecrets(p *connHTTPParams) *connHTTPParams {
	if p == nil {
		return nil
	}
	hide := func(ps []connParam) []connParam {
		out := slices.Clone(ps)
		for i := range out {
			if out[i].IsValueSecret {
				out[i].Value = nil
			}
		}
		return out
	}
	return &connHTTPParams{HeaderParameters: hide(p.HeaderParameters), QueryStringParameters: hide(p.QueryStringParameters)}
}

func (s *Service) createConnection(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name              string      `json:"Name"`
		Description       *string     `json:"Description"`
		AuthorizationType string      `json:"AuthorizationType"`
		AuthParameters    *authParams `json:"AuthParameters"`
		connSettings
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := in.refuse(); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name, maxConnectionNameLen); err != nil {
		return nil, err
	}
	if err := checkText("Description", str(in.Description), maxDescriptionLen); err != nil {
		return nil, err
	}
	if in.AuthParameters == nil {
		return nil, validationf("1 validation error detected: Value null at 'authParameters' failed to satisfy constraint: Member must not be null")
	}
	now := timeNow()
	c := &connection{Name: in.Name, ID: awsapi.NewRequestID(), Description: str(in.Description), State: connectionAuthorized, Created: now, Modified: now, LastAuthorized: now}
	if err := applyAuth(c, in.AuthorizationType, in.AuthParameters, false); err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", "*"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.getConnection(in.Name); err == nil {
		return nil, existsf("Connection %s already exists.", in.Name)
	}
	if err := s.env.Meta.Put(ctx, connectionKey+c.Name, c); err != nil {
		return nil, metaErr(err)
	}
	return s.stateOf(c), nil
}

func (s *Service) describeConnection(ctx context.Context, body []byte) (any, error) {
	name, err := s.namedRequest(ctx, body, awsapi.Describe)
	if err != nil {
		return nil, err
	}
	c, err := s.getConnection(name)
	if err != nil {
		return nil, err
	}
	out := connectionOut{Name: c.Name, ConnectionArn: s.connectionARN(c), Description: ptr(c.Description), AuthorizationType: c.AuthType,
		ConnectionState: c.State, CreationTime: newEpoch(c.Created), LastModifiedTime: newEpoch(c.Modified), LastAuthorizedTime: newEpoch(c.LastAuthorized)}
	if c.State == connectionDeauthorize {
		out.StateReason = ptr("deauthorized by DeauthorizeConnection; UpdateConnection with new credentials authorizes it again")
	}
	out.AuthParameters = &authOut{InvocationHTTP: hideSecrets(c.HTTP)}
	switch c.AuthType {
	case authAPIKey:
		out.AuthParameters.APIKey = &struct {
			APIKeyName string `json:"ApiKeyName"`
		}{c.APIKeyName}
	case authBasic:
		out.AuthParameters.Basic = &struct {
			Username string `json:"Username"`
		}{c.Username}
	}
	return out, nil
}

func (s *Service) updateConnection(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name              string      `json:"Name"`
		Description       *string     `json:"Description"`
		AuthorizationType *string     `json:"AuthorizationType"`
		AuthParameters    *authParams `json:"AuthParameters"`
		connSettings
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := in.refuse(); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name, maxConnectionNameLen); err != nil {
		return nil, err
	}
	if err := checkText("Description", str(in.Description), maxDescriptionLen); err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", "*"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.getConnection(in.Name)
	if err != nil {
		return nil, err
	}
	authType := c.AuthType
	if in.AuthorizationType != nil {
		authType = *in.AuthorizationType
	}
	if err := applyAuth(c, authType, in.AuthParameters, true); err != nil {
		return nil, err
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	now := timeNow()
	c.Modified = now
	if in.AuthParameters != nil || in.AuthorizationType != nil {
		c.State, c.LastAuthorized = connectionAuthorized, now
	}
	return s.saveConnection(ctx, c)
}

func (s *Service) deauthorizeConnection(ctx context.Context, body []byte) (any, error) {
	name, err := s.namedRequest(ctx, body, awsapi.Manage)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.getConnection(name)
	if err != nil {
		return nil, err
	}
	c.APIKeyValue, c.Password = "", ""
	c.State, c.Modified = connectionDeauthorize, timeNow()
	return s.saveConnection(ctx, c)
}

// saveConnection puts again the targets of c's API destinations, so that
// they carry c's new credentials, then stores c; it answers with c's state.
func (s *Service) saveConnection(ctx context.Context, c *connection) (any, error) {
	arn := s.connectionARN(c)
	if err := s.rebuildUsers(ctx, func(d *apiDestination) bool { return d.ConnectionArn == arn }, c); err != nil {
		return nil, err
	}
	if err := s.env.Meta.Put(ctx, connectionKey+c.Name, c); err != nil {
		return nil, metaErr(err)
	}
	return s.stateOf(c), nil
}

func (s *Service) deleteConnection(ctx context.Context, body []byte) (any, error) {
	name, err := s.namedRequest(ctx, body, awsapi.Manage)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.getConnection(name)
	if err != nil {
		return nil, err
	}
	arn := s.connectionARN(c)
	for _, k := range s.env.Meta.Keys(destinationKey) {
		d, err := s.getDestination(strings.TrimPrefix(k, destinationKey))
		if err != nil {
			return nil, err
		}
		if d.ConnectionArn == arn {
			return nil, validationf("Connection %s is used by the API destination %s; delete or update that first", c.Name, d.Name)
		}
	}
	if err := s.env.Meta.Delete(ctx, connectionKey+c.Name); err != nil {
		return nil, metaErr(err)
	}
	st := s.stateOf(c)
	st.ConnectionState = "DELETING"
	return st, nil
}

func (s *Service) listConnections(ctx context.Context, body []byte) (any, error) {
	var in struct {
		NamePrefix      *string `json:"NamePrefix"`
		ConnectionState *string `json:"ConnectionState"`
		Limit           *int32  `json:"Limit"`
		NextToken       *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Describe, "bus", "*"); err != nil {
		return nil, err
	}
	var all []*connection
	for _, k := range s.env.Meta.Keys(connectionKey + str(in.NamePrefix)) {
		c, err := s.getConnection(strings.TrimPrefix(k, connectionKey))
		if err != nil {
			continue // deleted meanwhile
		}
		if in.ConnectionState != nil && c.State != *in.ConnectionState {
			continue
		}
		all = append(all, c)
	}
	pg, next, err := page(all, func(c *connection) string { return c.Name }, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	type item struct {
		Name              string `json:"Name"`
		AuthorizationType string `json:"AuthorizationType"`
		connectionState
	}
	out := struct {
		Connections []item  `json:"Connections"`
		NextToken   *string `json:"NextToken,omitempty"`
	}{Connections: []item{}, NextToken: next}
	for _, c := range pg {
		out.Connections = append(out.Connections, item{c.Name, c.AuthType, s.stateOf(c)})
	}
	return out, nil
}

// apiDestinationOut is DescribeApiDestination's answer and a member of
// ListApiDestinations'.
type apiDestinationOut struct {
	Name                         string     `json:"Name"`
	ApiDestinationArn            string     `json:"ApiDestinationArn"`
	Description                  *string    `json:"Description,omitempty"`
	ApiDestinationState          string     `json:"ApiDestinationState"`
	ConnectionArn                string     `json:"ConnectionArn"`
	InvocationEndpoint           string     `json:"InvocationEndpoint"`
	HttpMethod                   string     `json:"HttpMethod"`
	InvocationRateLimitPerSecond int32      `json:"InvocationRateLimitPerSecond"`
	CreationTime                 *epochTime `json:"CreationTime,omitempty"`
	LastModifiedTime             *epochTime `json:"LastModifiedTime,omitempty"`
}

func (s *Service) destinationOut(d *apiDestination) apiDestinationOut {
	return apiDestinationOut{d.Name, s.destinationARN(d), ptr(d.Description), "ACTIVE", d.ConnectionArn, d.Endpoint, d.Method, d.RateLimit, newEpoch(d.Created), newEpoch(d.Modified)}
}

// destinationInput are the settable fields of an API destination.
type destinationInput struct {
	Name                         string  `json:"Name"`
	Description                  *string `json:"Description"`
	ConnectionArn                *string `json:"ConnectionArn"`
	InvocationEndpoint           *string `json:"InvocationEndpoint"`
	HttpMethod                   *string `json:"HttpMethod"`
	InvocationRateLimitPerSecond *int32  `json:"InvocationRateLimitPerSecond"`
}

// apply sets d's fields from in (only those given) and checks them.
func (s *Service) apply(d *apiDestination, in *destinationInput) error {
	if in.Description != nil {
		if err := checkText("Description", *in.Description, maxDescriptionLen); err != nil {
			return err
		}
		d.Description = *in.Description
	}
	if in.ConnectionArn != nil {
		c, err := s.connectionByARN("ConnectionArn", *in.ConnectionArn)
		if err != nil {
			return err
		}
		d.ConnectionArn = s.connectionARN(c)
	}
	if in.InvocationEndpoint != nil {
		d.Endpoint = *in.InvocationEndpoint
	}
	if in.HttpMethod != nil {
		d.Method = *in.HttpMethod
	}
	if in.InvocationRateLimitPerSecond != nil {
		d.RateLimit = *in.InvocationRateLimitPerSecond
	}
	switch d.Method {
	case "POST":
	case "GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS":
		return validationf("HttpMethod %s is not supported: courier's API destinations send POST requests only", d.Method)
	default:
		return validationf("1 validation error detected: Value '%s' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]", awsapi.Truncate(d.Method, 64))
	}
	if d.RateLimit < 1 || d.RateLimit > maxRateLimit {
		return validationf("InvocationRateLimitPerSecond %d is out of range 1..%d", d.RateLimit, maxRateLimit)
	}
	if d.Endpoint == "" || len(d.Endpoint) > maxEndpointLen {
		return validationf("InvocationEndpoint must have 1 to %d characters", maxEndpointLen)
	}
	u, err := url.Parse(strings.ReplaceAll(d.Endpoint, "*", "x"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return validationf("InvocationEndpoint %q is not an http:// or https:// URL", awsapi.Truncate(d.Endpoint, 256))
	}
	check := courier.Target{ID: "check", Kind: courier.TargetHTTP, HTTP: &courier.HTTPTarget{Endpoint: u.String(), MaxPerSecond: int(d.RateLimit)}}
	if err := check.Normalize("InvocationEndpoint"); err != nil {
		return validationf("%v", err)
	}
	return nil
}

func (s *Service) createAPIDestination(ctx context.Context, body []byte) (any, error) {
	var in destinationInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name, maxConnectionNameLen); err != nil {
		return nil, err
	}
	if in.ConnectionArn == nil || in.InvocationEndpoint == nil || in.HttpMethod == nil {
		return nil, validationf("ConnectionArn, InvocationEndpoint and HttpMethod are required")
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", "*"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := timeNow()
	d := &apiDestination{Name: in.Name, ID: awsapi.NewRequestID(), RateLimit: defaultRateLimit, Created: now, Modified: now}
	if err := s.apply(d, &in); err != nil {
		return nil, err
	}
	if _, err := s.getDestination(in.Name); err == nil {
		return nil, existsf("An api-destination %s already exists.", in.Name)
	}
	if err := s.env.Meta.Put(ctx, destinationKey+d.Name, d); err != nil {
		return nil, metaErr(err)
	}
	return destinationState(s.destinationOut(d)), nil
}

// destinationState is the answer of the actions that change an API
// destination.
func destinationState(o apiDestinationOut) any {
	return struct {
		ApiDestinationArn   string     `json:"ApiDestinationArn"`
		ApiDestinationState string     `json:"ApiDestinationState"`
		CreationTime        *epochTime `json:"CreationTime,omitempty"`
		LastModifiedTime    *epochTime `json:"LastModifiedTime,omitempty"`
	}{o.ApiDestinationArn, o.ApiDestinationState, o.CreationTime, o.LastModifiedTime}
}

func (s *Service) describeAPIDestination(ctx context.Context, body []byte) (any, error) {
	name, err := s.namedRequest(ctx, body, awsapi.Describe)
	if err != nil {
		return nil, err
	}
	d, err := s.getDestination(name)
	if err != nil {
		return nil, err
	}
	return s.destinationOut(d), nil
}

func (s *Service) updateAPIDestination(ctx context.Context, body []byte) (any, error) {
	var in destinationInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name, maxConnectionNameLen); err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", "*"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.getDestination(in.Name)
	if err != nil {
		return nil, err
	}
	old := *d
	if err := s.apply(d, &in); err != nil {
		return nil, err
	}
	d.Modified = timeNow()
	// Store first: rebuilding the targets reads the destination.
	if err := s.env.Meta.Put(ctx, destinationKey+d.Name, d); err != nil {
		return nil, metaErr(err)
	}
	if err := s.rebuildUsers(ctx, func(x *apiDestination) bool { return x.Name == d.Name }, nil); err != nil {
		_ = s.env.Meta.Put(ctx, destinationKey+d.Name, &old) // the targets keep the old settings
		return nil, err
	}
	return destinationState(s.destinationOut(d)), nil
}

func (s *Service) deleteAPIDestination(ctx context.Context, body []byte) (any, error) {
	name, err := s.namedRequest(ctx, body, awsapi.Manage)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.getDestination(name)
	if err != nil {
		return nil, err
	}
	arn := s.destinationARN(d)
	for _, k := range s.env.Meta.Keys(targetKey) {
		var t awsTarget
		if found, err := s.env.Meta.Get(k, &t); err != nil || !found || t.Arn != arn {
			continue
		}
		parts := strings.SplitN(strings.TrimPrefix(k, targetKey), "/", 3)
		return nil, validationf("API destination %s is the target %s of rule %s on bus %s; remove that target first", d.Name, t.ID, parts[1], parts[0])
	}
	return struct{}{}, metaErr(s.env.Meta.Delete(ctx, destinationKey+d.Name))
}

func (s *Service) listAPIDestinations(ctx context.Context, body []byte) (any, error) {
	var in struct {
		NamePrefix    *string `json:"NamePrefix"`
		ConnectionArn *string `json:"ConnectionArn"`
		Limit         *int32  `json:"Limit"`
		NextToken     *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Describe, "bus", "*"); err != nil {
		return nil, err
	}
	var all []*apiDestination
	for _, k := range s.env.Meta.Keys(destinationKey + str(in.NamePrefix)) {
		d, err := s.getDestination(strings.TrimPrefix(k, destinationKey))
		if err != nil {
			continue
		}
		if in.ConnectionArn != nil && d.ConnectionArn != *in.ConnectionArn {
			continue
		}
		all = append(all, d)
	}
	pg, next, err := page(all, func(d *apiDestination) string { return d.Name }, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		ApiDestinations []apiDestinationOut `json:"ApiDestinations"`
		NextToken       *string             `json:"NextToken,omitempty"`
	}{ApiDestinations: []apiDestinationOut{}, NextToken: next}
	for _, d := range pg {
		o := s.destinationOut(d)
		o.Description = nil
		out.ApiDestinations = append(out.ApiDestinations, o)
	}
	return out, nil
}

// httpTarget builds the courier http target of the API destination name
// with its connection's authorization and parameters, and the target's
// HttpParameters (connection parameters win, as in EventBridge).
func (s *Service) httpTarget(_ context.Context, field, nameID string, p *httpParameters) (*courier.HTTPTarget, error) {
	name, id, _ := strings.Cut(nameID, "/")
	d, err := s.getDestination(name)
	if err != nil {
		return nil, err
	}
	if id != d.ID {
		return nil, notFoundf("%s: An api-destination '%s' does not exist (its ID is not %q).", field, name, id)
	}
	c, err := s.connectionByARN("ConnectionArn", d.ConnectionArn)
	if err != nil {
		return nil, err
	}
	return buildHTTPTarget(field, d, c, p)
}

// buildHTTPTarget combines an API destination, its connection and a
// target's HttpParameters into a courier http target.
func buildHTTPTarget(field string, d *apiDestination, c *connection, p *httpParameters) (*courier.HTTPTarget, error) {
	if p == nil {
		p = &httpParameters{}
	}
	endpoint := d.Endpoint
	if n := strings.Count(endpoint, "*"); n != len(p.PathParameterValues) {
		return nil, validationf("%s: the API destination's endpoint has %d path wildcards (*) and HttpParameters.PathParameterValues has %d values", field, n, len(p.PathParameterValues))
	}
	for _, v := range p.PathParameterValues {
		endpoint = strings.Replace(endpoint, "*", url.PathEscape(v), 1)
	}
	query := url.Values{}
	for k, v := range p.QueryStringParameters {
		query.Set(k, v)
	}
	h := &courier.HTTPTarget{MaxPerSecond: int(d.RateLimit), Headers: map[string]string{}}
	for k, v := range p.HeaderParameters {
		if !validHeaderName(k) {
			return nil, validationf("%s: HttpParameters.HeaderParameters: %q is not a header name", field, k)
		}
		h.Headers[k] = v
	}
	if c.HTTP != nil {
		for _, q := range c.HTTP.QueryStringParameters {
			query.Set(str(q.Key), str(q.Value))
		}
		for _, hp := range c.HTTP.HeaderParameters {
			h.Headers[str(hp.Key)] = str(hp.Value)
		}
	}
	if len(query) > 0 {
		u, err := url.Parse(endpoint)
		if err != nil {
			return nil, validationf("%s: endpoint %q: %v", field, awsapi.Truncate(endpoint, 256), err)
		}
		q := u.Query()
		for k, vs := range query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		endpoint = u.String()
	}
	h.Endpoint = endpoint
	if len(h.Headers) == 0 {
		h.Headers = nil
	}
	switch {
	case c.State != connectionAuthorized:
		// deauthorized: requests go without credentials and fail at the endpoint
	case c.AuthType == authAPIKey:
		h.AuthHeader, h.AuthValue = c.APIKeyName, c.APIKeyValue
	case c.AuthType == authBasic:
		h.AuthHeader = "Authorization"
		h.AuthValue = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
	}
	return h, nil
}

// rebuildUsers puts again every target whose API destination matches
// (with conn, when set, standing for its connection's new state), so that
// they carry the new endpoint or credentials.
func (s *Service) rebuildUsers(ctx context.Context, match func(*apiDestination) bool, conn *connection) error {
	for _, k := range s.env.Meta.Keys(targetKey) {
		var t awsTarget
		if found, err := s.env.Meta.Get(k, &t); err != nil || !found {
			continue
		}
		ref, err := s.resolveTargetARN("target", t.Arn)
		if err != nil || ref.kind != courier.TargetHTTP {
			continue
		}
		name, _, _ := strings.Cut(ref.name, "/")
		d, err := s.getDestination(name)
		if err != nil || !match(d) {
			continue
		}
		c := conn
		if c == nil {
			if c, err = s.connectionByARN("ConnectionArn", d.ConnectionArn); err != nil {
				return err
			}
		}
		parts := strings.SplitN(strings.TrimPrefix(k, targetKey), "/", 3)
		if len(parts) != 3 {
			continue
		}
		h, err := buildHTTPTarget("target "+t.ID, d, c, t.HTTPParameters)
		if err != nil {
			return err
		}
		bus := s.env.Broker.Bus(parts[0])
		info, err := bus.Rule(ctx, parts[1])
		if err != nil {
			continue // the rule is gone; its record goes with the next PutRule
		}
		i := slices.IndexFunc(info.Targets, func(x courier.Target) bool { return x.ID == parts[2] })
		if i < 0 || info.Targets[i].Kind != courier.TargetHTTP {
			continue
		}
		ct := info.Targets[i]
		ct.HTTP = h
		if _, err := bus.PutTargets(ctx, parts[1], ct); err != nil {
			return err
		}
	}
	return nil
}
