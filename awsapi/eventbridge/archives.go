package eventbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
)

// Limits of archives and replays, as EventBridge's.
const (
	maxArchiveNameLen = 48
	maxReplayNameLen  = 64
	day               = 24 * time.Hour
)

func (s *Service) archiveARN(name string) string { return s.env.ARN("events", "archive/"+name) }
func (s *Service) replayARN(name string) string  { return s.env.ARN("events", "replay/"+name) }

// findArchive returns the archive name of any bus: EventBridge's archive
// names are unique in an account, courier's within a bus.
func (s *Service) findArchive(ctx context.Context, name string) (courier.ArchiveInfo, error) {
	all, err := s.allArchives(ctx)
	if err != nil {
		return courier.ArchiveInfo{}, err
	}
	for _, a := range all {
		if a.Name == name {
			return a, nil
		}
	}
	return courier.ArchiveInfo{}, notFoundf("Archive %s does not exist.", name)
}

// authorizedArchive finds the archive name and checks perm on its bus.
// A missing archive needs perm on every bus ("*") to be reported as
// missing, so that a caller refused on the archive's bus cannot tell
// whether it exists.
func (s *Service) authorizedArchive(ctx context.Context, perm awsapi.Permission, name string) (courier.ArchiveInfo, error) {
	a, err := s.findArchive(ctx, name)
	if err != nil {
		if ae := awsapi.AsError(err); ae.Code == "ResourceNotFoundException" {
			if aerr := s.env.Authorize(ctx, perm, "bus", "*"); aerr != nil {
				return courier.ArchiveInfo{}, aerr
			}
		}
		return courier.ArchiveInfo{}, err
	}
	if err := s.env.Authorize(ctx, perm, "bus", a.Bus); err != nil {
		return courier.ArchiveInfo{}, err
	}
	return a, nil
}

// allArchives lists the archives of every bus, sorted by name.
func (s *Service) allArchives(ctx context.Context) ([]courier.ArchiveInfo, error) {
	buses, err := s.env.Broker.ListBuses(ctx)
	if err != nil {
		return nil, err
	}
	var out []courier.ArchiveInfo
	for _, b := range buses {
		as, err := s.env.Broker.Bus(b).Archives(ctx)
		if errors.Is(err, courier.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	slices.SortFunc(out, func(a, b courier.ArchiveInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// archiveName resolves an archive ARN (or name) to a name.
func (s *Service) archiveName(field, v string) (string, error) {
	name := v
	if strings.HasPrefix(v, "arn:") {
		res, err := s.env.ParseOwnARN(v, "events", "ValidationException")
		if err != nil {
			return "", err
		}
		var ok bool
		if name, ok = strings.CutPrefix(res, "archive/"); !ok {
			return "", validationf("%s %q is not an archive ARN (arn:aws:events:REGION:ACCOUNT:archive/NAME)", field, awsapi.Truncate(v, 256))
		}
	}
	return name, checkName(field, name, maxArchiveNameLen)
}

// archiveOut is DescribeArchive's answer and a member of ListArchives'.
type archiveOut struct {
	ArchiveArn     *string    `json:"ArchiveArn,omitempty"`
	ArchiveName    string     `json:"ArchiveName"`
	EventSourceArn string     `json:"EventSourceArn"`
	Description    *string    `json:"Description,omitempty"`
	EventPattern   *string    `json:"EventPattern,omitempty"`
	State          string     `json:"State"`
	RetentionDays  int32      `json:"RetentionDays"`
	SizeBytes      int64      `json:"SizeBytes"`
	EventCount     int64      `json:"EventCount"`
	CreationTime   *epochTime `json:"CreationTime,omitempty"`
}

func (s *Service) archiveOut(a courier.ArchiveInfo) (archiveOut, error) {
	var m archiveMeta
	if _, err := s.env.Meta.Get(archiveKey+a.Name, &m); err != nil {
		return archiveOut{}, metaErr(err)
	}
	arn := s.archiveARN(a.Name)
	out := archiveOut{ArchiveArn: &arn, ArchiveName: a.Name, EventSourceArn: s.busARN(a.Bus), Description: ptr(a.Description),
		EventPattern: ptr(string(a.Pattern)), State: "ENABLED", RetentionDays: int32(a.Retention / day),
		SizeBytes: a.Bytes, EventCount: a.Events, CreationTime: newEpoch(a.CreatedAt)}
	if m.Description != nil {
		out.Description = ptr(*m.Description)
	}
	return out, nil
}

// archiveSettings checks an archive's pattern and retention.
func archiveSettings(p *string, days *int32) (json.RawMessage, time.Duration, error) {
	var pat json.RawMessage
	if str(p) != "" {
		if _, err := compilePattern(*p); err != nil {
			return nil, 0, err
		}
		pat = json.RawMessage(*p)
	}
	var ret time.Duration
	if days != nil {
		if *days < 0 || time.Duration(*days)*day > driver.MaxArchiveRetention {
			return nil, 0, validationf("RetentionDays %d is out of range 0 (indefinitely) .. %d", *days, int64(driver.MaxArchiveRetention/day))
		}
		ret = time.Duration(*days) * day
	}
	return pat, ret, nil
}

// checkArchiveInput checks the members CreateArchive and UpdateArchive
// share: the archive's name, and no customer key.
func checkArchiveInput(name string, kms *unsupportedParam) error {
	if kms != nil && kms.set {
		return validationf("parameter KmsKeyIdentifier is not supported: courier does not encrypt archives with customer keys")
	}
	return checkName("archiveName", name, maxArchiveNameLen)
}

// archiveState is the answer of CreateArchive and UpdateArchive.
func (s *Service) archiveState(a courier.ArchiveInfo) any {
	return struct {
		ArchiveArn   string     `json:"ArchiveArn"`
		State        string     `json:"State"`
		CreationTime *epochTime `json:"CreationTime,omitempty"`
	}{s.archiveARN(a.Name), "ENABLED", newEpoch(a.CreatedAt)}
}

func (s *Service) createArchive(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ArchiveName      string            `json:"ArchiveName"`
		EventSourceArn   string            `json:"EventSourceArn"`
		Description      *string           `json:"Description"`
		EventPattern     *string           `json:"EventPattern"`
		RetentionDays    *int32            `json:"RetentionDays"`
		KmsKeyIdentifier *unsupportedParam `json:"KmsKeyIdentifier"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkArchiveInput(in.ArchiveName, in.KmsKeyIdentifier); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.EventSourceArn, "arn:") {
		return nil, validationf("EventSourceArn %q is not an event bus ARN", awsapi.Truncate(in.EventSourceArn, 256))
	}
	bus, err := s.busName("EventSourceArn", in.EventSourceArn)
	if err != nil {
		return nil, err
	}
	if err := checkText("Description", str(in.Description), maxDescriptionLen); err != nil {
		return nil, err
	}
	pat, ret, err := archiveSettings(in.EventPattern, in.RetentionDays)
	if err != nil {
		return nil, err
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", bus); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.busInfo(ctx, bus); err != nil {
		return nil, err
	}
	if _, err := s.findArchive(ctx, in.ArchiveName); err == nil {
		return nil, existsf("Archive %s already exists.", in.ArchiveName)
	} else if ae := awsapi.AsError(err); ae.Code != "ResourceNotFoundException" {
		return nil, err
	}
	if err := s.env.Meta.Delete(ctx, archiveKey+in.ArchiveName); err != nil {
		return nil, metaErr(err)
	}
	info, err := s.env.Broker.Bus(bus).Archive(ctx, in.ArchiveName, courier.Archive{Description: str(in.Description), Pattern: pat, Retention: ret})
	if err != nil {
		return nil, err
	}
	return s.archiveState(info), nil
}

// decodeArchiveName decodes the body of an archive action whose one member
// is ArchiveName and checks the name.
func decodeArchiveName(body []byte) (string, error) {
	var in struct {
		ArchiveName string `json:"ArchiveName"`
	}
	if err := decode(body, &in); err != nil {
		return "", err
	}
	return in.ArchiveName, checkName("archiveName", in.ArchiveName, maxArchiveNameLen)
}

func (s *Service) deleteArchive(ctx context.Context, body []byte) (any, error) {
	name, err := decodeArchiveName(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.authorizedArchive(ctx, awsapi.Manage, name)
	if err != nil {
		return nil, err
	}
	if err := s.env.Broker.Bus(a.Bus).DeleteArchive(ctx, a.Name); err != nil {
		return nil, err
	}
	return struct{}{}, metaErr(s.env.Meta.Delete(ctx, archiveKey+a.Name))
}

func (s *Service) describeArchive(ctx context.Context, body []byte) (any, error) {
	name, err := decodeArchiveName(body)
	if err != nil {
		return nil, err
	}
	a, err := s.authorizedArchive(ctx, awsapi.Describe, name)
	if err != nil {
		return nil, err
	}
	return s.archiveOut(a)
}

func (s *Service) listArchives(ctx context.Context, body []byte) (any, error) {
	var in struct {
		NamePrefix     *string `json:"NamePrefix"`
		EventSourceArn *string `json:"EventSourceArn"`
		State          *string `json:"State"`
		Limit          *int32  `json:"Limit"`
		NextToken      *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	authBus := "*"
	bus := ""
	if in.EventSourceArn != nil {
		b, err := s.busName("EventSourceArn", *in.EventSourceArn)
		if err != nil {
			return nil, err
		}
		authBus, bus = b, b
	}
	switch st := str(in.State); st {
	case "", "ENABLED", "DISABLED", "CREATING", "UPDATING", "CREATE_FAILED", "UPDATE_FAILED":
	default:
		return nil, validationf("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, CREATING, UPDATING, CREATE_FAILED, UPDATE_FAILED]", awsapi.Truncate(st, 64))
	}
	if err := s.env.Authorize(ctx, awsapi.Describe, "bus", authBus); err != nil {
		return nil, err
	}
	all, err := s.allArchives(ctx)
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(a courier.ArchiveInfo) bool {
		return !strings.HasPrefix(a.Name, str(in.NamePrefix)) || bus != "" && a.Bus != bus || in.State != nil && *in.State != "ENABLED"
	})
	pg, next, err := page(all, func(a courier.ArchiveInfo) string { return a.Name }, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		Archives  []archiveOut `json:"Archives"`
		NextToken *string      `json:"NextToken,omitempty"`
	}{Archives: []archiveOut{}, NextToken: next}
	for _, a := range pg {
		o, err := s.archiveOut(a)
		if err != nil {
			return nil, err
		}
		o.ArchiveArn, o.Description, o.EventPattern = nil, nil, nil
		out.Archives = append(out.Archives, o)
	}
	return out, nil
}

func (s *Service) updateArchive(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ArchiveName      string            `json:"ArchiveName"`
		Description      *string           `json:"Description"`
		EventPattern     *string           `json:"EventPattern"`
		RetentionDays    *int32            `json:"RetentionDays"`
		KmsKeyIdentifier *unsupportedParam `json:"KmsKeyIdentifier"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkArchiveInput(in.ArchiveName, in.KmsKeyIdentifier); err != nil {
		return nil, err
	}
	if in.Description != nil {
		if err := checkText("Description", *in.Description, maxDescriptionLen); err != nil {
			return nil, err
		}
	}
	pat, ret, err := archiveSettings(in.EventPattern, in.RetentionDays)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.authorizedArchive(ctx, awsapi.Manage, in.ArchiveName)
	if err != nil {
		return nil, err
	}
	want := a.Archive
	if in.EventPattern != nil {
		want.Pattern = pat
	}
	if in.RetentionDays != nil {
		want.Retention = ret
	}
	check := want
	if err := check.Normalize(); err != nil {
		return nil, validationf("%v", err)
	}
	if !bytes.Equal(check.Pattern, a.Pattern) || check.Retention != a.Retention {
		// courier cannot change an archive in place: an empty one is made
		// again; one that holds events would lose them.
		if a.Events > 0 {
			return nil, validationf("courier cannot change the EventPattern or RetentionDays of an archive that holds events (%s holds %d); create a new archive instead", a.Name, a.Events)
		}
		bus := s.env.Broker.Bus(a.Bus)
		if err := bus.DeleteArchive(ctx, a.Name); err != nil {
			return nil, err
		}
		if a, err = bus.Archive(ctx, a.Name, want); err != nil {
			return nil, fmt.Errorf("archive %s was emptied and could not be created again: %w", in.ArchiveName, err)
		}
	}
	if in.Description != nil {
		if err := s.env.Meta.Put(ctx, archiveKey+a.Name, archiveMeta{Description: in.Description}); err != nil {
			return nil, metaErr(err)
		}
	}
	return s.archiveState(a), nil
}

// awsReplayState is a courier replay state as EventBridge spells it.
func awsReplayState(st courier.ReplayInfo) string {
	switch st.State {
	case courier.ReplayRunning:
		return "RUNNING"
	case courier.ReplayCompleted:
		return "COMPLETED"
	case courier.ReplayCancelled:
		return "CANCELLED"
	}
	return "FAILED"
}

// replayOut is DescribeReplay's answer and a member of ListReplays'.
type replayOut struct {
	ReplayName            string     `json:"ReplayName"`
	ReplayArn             *string    `json:"ReplayArn,omitempty"`
	Description           *string    `json:"Description,omitempty"`
	State                 string     `json:"State"`
	StateReason           *string    `json:"StateReason,omitempty"`
	EventSourceArn        string     `json:"EventSourceArn"`
	Destination           *replayDst `json:"Destination,omitempty"`
	EventStartTime        *epochTime `json:"EventStartTime,omitempty"`
	EventEndTime          *epochTime `json:"EventEndTime,omitempty"`
	EventLastReplayedTime *epochTime `json:"EventLastReplayedTime,omitempty"`
	ReplayStartTime       *epochTime `json:"ReplayStartTime,omitempty"`
	ReplayEndTime         *epochTime `json:"ReplayEndTime,omitempty"`
}

// replayDst is a ReplayDestination.
type replayDst struct {
	Arn        string   `json:"Arn"`
	FilterArns []string `json:"FilterArns,omitempty"`
}

func (s *Service) replayOut(r courier.ReplayInfo) replayOut {
	arn := s.replayARN(r.Name)
	dst := &replayDst{Arn: s.busARN(r.Bus)}
	for _, rule := range r.Rules {
		dst.FilterArns = append(dst.FilterArns, s.ruleARN(r.Bus, rule))
	}
	return replayOut{ReplayName: r.Name, ReplayArn: &arn, Description: ptr(r.Description), State: awsReplayState(r), StateReason: ptr(r.Error),
		EventSourceArn: s.archiveARN(r.Archive), Destination: dst, EventStartTime: newEpoch(r.Start), EventEndTime: newEpoch(r.End),
		EventLastReplayedTime: newEpoch(r.LastEvent), ReplayStartTime: newEpoch(r.StartedAt), ReplayEndTime: newEpoch(r.EndedAt)}
}

// ruleOfARN returns the rule name of a rule ARN on bus.
func (s *Service) ruleOfARN(field, arn, bus string) (string, error) {
	res, err := s.env.ParseOwnARN(arn, "events", "ValidationException")
	if err != nil {
		return "", err
	}
	rest, ok := strings.CutPrefix(res, "rule/")
	if !ok {
		return "", validationf("%s %q is not a rule ARN", field, awsapi.Truncate(arn, 256))
	}
	ruleBus, name := splitRuleResource(rest)
	if ruleBus != bus {
		return "", validationf("%s %q is a rule of bus %s; a replay to bus %s can only be restricted to that bus's rules", field, awsapi.Truncate(arn, 256), ruleBus, bus)
	}
	return name, checkName(field, name, maxRuleNameLen)
}

func (s *Service) startReplay(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ReplayName     string     `json:"ReplayName"`
		Description    *string    `json:"Description"`
		EventSourceArn string     `json:"EventSourceArn"`
		EventStartTime *epochTime `json:"EventStartTime"`
		EventEndTime   *epochTime `json:"EventEndTime"`
		Destination    *struct {
			Arn        string   `json:"Arn"`
			FilterArns []string `json:"FilterArns"`
		} `json:"Destination"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkName("replayName", in.ReplayName, maxReplayNameLen); err != nil {
		return nil, err
	}
	if err := checkText("Description", str(in.Description), maxDescriptionLen); err != nil {
		return nil, err
	}
	if in.EventStartTime == nil || in.EventEndTime == nil || in.Destination == nil || in.EventSourceArn == "" {
		return nil, validationf("ReplayName, EventSourceArn, EventStartTime, EventEndTime and Destination are required")
	}
	if !in.EventStartTime.Before(in.EventEndTime.Time) {
		return nil, validationf("EventStartTime must be before EventEndTime")
	}
	if !strings.HasPrefix(in.EventSourceArn, "arn:") {
		return nil, validationf("EventSourceArn %q is not an archive ARN", awsapi.Truncate(in.EventSourceArn, 256))
	}
	archive, err := s.archiveName("EventSourceArn", in.EventSourceArn)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.Destination.Arn, "arn:") {
		return nil, validationf("Destination.Arn %q is not an event bus ARN", awsapi.Truncate(in.Destination.Arn, 256))
	}
	bus, err := s.busName("Destination.Arn", in.Destination.Arn)
	if err != nil {
		return nil, err
	}
	if len(in.Destination.FilterArns) > driver.MaxReplayRules {
		return nil, validationf("Destination.FilterArns: %d rules; the limit is %d", len(in.Destination.FilterArns), driver.MaxReplayRules)
	}
	var rules []string
	for i, arn := range in.Destination.FilterArns {
		name, err := s.ruleOfARN(fmt.Sprintf("Destination.FilterArns[%d]", i), arn, bus)
		if err != nil {
			return nil, err
		}
		rules = append(rules, name)
	}
	if err := s.env.Authorize(ctx, awsapi.Manage, "bus", "*"); err != nil {
		return nil, err
	}
	a, err := s.findArchive(ctx, archive)
	if err != nil {
		return nil, err
	}
	if a.Bus != bus {
		return nil, validationf("Cross event bus replay is not permitted: archive %s keeps the events of bus %s, not %s.", archive, a.Bus, bus)
	}
	info, err := s.env.Broker.StartReplay(ctx, in.ReplayName, courier.Replay{Bus: bus, Archive: archive, Start: in.EventStartTime.Time,
		End: in.EventEndTime.Time, Rules: rules, Description: str(in.Description)})
	if errors.Is(err, courier.ErrExists) {
		return nil, existsf("Replay %s already exists.", in.ReplayName)
	}
	if err != nil {
		return nil, err
	}
	o := s.replayOut(info)
	return struct {
		ReplayArn       string     `json:"ReplayArn"`
		State           string     `json:"State"`
		StateReason     *string    `json:"StateReason,omitempty"`
		ReplayStartTime *epochTime `json:"ReplayStartTime,omitempty"`
	}{*o.ReplayArn, o.State, o.StateReason, o.ReplayStartTime}, nil
}

// replay returns a replay with EventBridge's not-found error.
func (s *Service) replay(ctx context.Context, name string) (courier.ReplayInfo, error) {
	info, err := s.env.Broker.ReplayInfo(ctx, name)
	if errors.Is(err, courier.ErrNotFound) {
		return info, notFoundf("Replay %s does not exist.", name)
	}
	return info, err
}

// requestedReplay decodes the body of a replay action whose one member is
// ReplayName, checks the name and then perm on every bus (a replay's bus
// is known once it is found), and returns the replay's name and state.
func (s *Service) requestedReplay(ctx context.Context, body []byte, perm awsapi.Permission) (string, courier.ReplayInfo, error) {
	var in struct {
		ReplayName string `json:"ReplayName"`
	}
	if err := decode(body, &in); err != nil {
		return "", courier.ReplayInfo{}, err
	}
	if err := checkName("replayName", in.ReplayName, maxReplayNameLen); err != nil {
		return "", courier.ReplayInfo{}, err
	}
	if err := s.env.Authorize(ctx, perm, "bus", "*"); err != nil {
		return "", courier.ReplayInfo{}, err
	}
	info, err := s.replay(ctx, in.ReplayName)
	return in.ReplayName, info, err
}

func (s *Service) describeReplay(ctx context.Context, body []byte) (any, error) {
	_, info, err := s.requestedReplay(ctx, body, awsapi.Describe)
	if err != nil {
		return nil, err
	}
	return s.replayOut(info), nil
}

func (s *Service) listReplays(ctx context.Context, body []byte) (any, error) {
	var in struct {
		NamePrefix     *string `json:"NamePrefix"`
		EventSourceArn *string `json:"EventSourceArn"`
		State          *string `json:"State"`
		Limit          *int32  `json:"Limit"`
		NextToken      *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	archive := ""
	if in.EventSourceArn != nil {
		a, err := s.archiveName("EventSourceArn", *in.EventSourceArn)
		if err != nil {
			return nil, err
		}
		archive = a
	}
	switch st := str(in.State); st {
	case "", "STARTING", "RUNNING", "CANCELLING", "COMPLETED", "CANCELLED", "FAILED":
	default:
		return nil, validationf("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [STARTING, RUNNING, CANCELLING, COMPLETED, CANCELLED, FAILED]", awsapi.Truncate(st, 64))
	}
	if err := s.env.Authorize(ctx, awsapi.Describe, "bus", "*"); err != nil {
		return nil, err
	}
	all, err := s.env.Broker.Replays(ctx)
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(r courier.ReplayInfo) bool {
		return !strings.HasPrefix(r.Name, str(in.NamePrefix)) || archive != "" && r.Archive != archive || in.State != nil && *in.State != awsReplayState(r)
	})
	slices.SortFunc(all, func(a, b courier.ReplayInfo) int { return strings.Compare(a.Name, b.Name) })
	pg, next, err := page(all, func(r courier.ReplayInfo) string { return r.Name }, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		Replays   []replayOut `json:"Replays"`
		NextToken *string     `json:"NextToken,omitempty"`
	}{Replays: []replayOut{}, NextToken: next}
	for _, r := range pg {
		o := s.replayOut(r)
		o.ReplayArn, o.Description, o.Destination = nil, nil, nil
		out.Replays = append(out.Replays, o)
	}
	return out, nil
}

func (s *Service) cancelReplay(ctx context.Context, body []byte) (any, error) {
	name, _, err := s.requestedReplay(ctx, body, awsapi.Manage)
	if err != nil {
		return nil, err
	}
	info, err := s.env.Broker.CancelReplay(ctx, name)
	if errors.Is(err, courier.ErrConflict) {
		return nil, awsapi.Errorf("IllegalStatusException", "Replay %s is not in a state that can be cancelled: it has ended.", name)
	}
	if err != nil {
		return nil, err
	}
	o := s.replayOut(info)
	return struct {
		ReplayArn   string  `json:"ReplayArn"`
		State       string  `json:"State"`
		StateReason *string `json:"StateReason,omitempty"`
	}{*o.ReplayArn, o.State, o.StateReason}, nil
}
