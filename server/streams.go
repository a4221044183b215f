package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// streamRoutes registers the stream endpoints (docs/http-api.md, Streams).
func (s *Server) streamRoutes() {
	s.mux.HandleFunc("GET /v1/streams", s.listStreams)
	s.mux.HandleFunc("PUT /v1/streams/{name}", s.createStream)
	s.mux.HandleFunc("PATCH /v1/streams/{name}", s.updateStream)
	s.mux.HandleFunc("GET /v1/streams/{name}", s.streamInfo)
	s.mux.HandleFunc("DELETE /v1/streams/{name}", s.deleteStream)
	s.mux.HandleFunc("POST /v1/streams/{name}/records", s.appendRecords)
	s.mux.HandleFunc("POST /v1/streams/{name}/read", s.readStream)
	s.mux.HandleFunc("POST /v1/streams/{name}/groups/{group}/join", s.joinGroup)
	s.mux.HandleFunc("POST /v1/streams/{name}/groups/{group}/heartbeat", s.heartbeat)
	s.mux.HandleFunc("POST /v1/streams/{name}/groups/{group}/poll", s.poll)
	s.mux.HandleFunc("POST /v1/streams/{name}/groups/{group}/commit", s.commit)
	s.mux.HandleFunc("POST /v1/streams/{name}/groups/{group}/leave", s.leave)
	s.mux.HandleFunc("POST /v1/streams/{name}/groups/{group}/reset", s.resetOffsets)
	s.mux.HandleFunc("DELETE /v1/streams/{name}/groups/{group}", s.deleteGroup)
}

// streamRequest returns the request's stream name and its body decoded
// into a T; on bad input it answers the error and reports false.
func streamRequest[T any](w http.ResponseWriter, r *http.Request, optional bool) (string, T, bool) {
	var zero T
	name := r.PathValue("name")
	err := driver.ValidateStreamName("name", name)
	if err == nil {
		var data []byte
		if data, err = readBody(r, w); err == nil {
			var req T
			if err = DecodeJSON(data, &req, optional); err == nil {
				return name, req, true
			}
		}
	}
	writeAPIError(w, err)
	return "", zero, false
}

// groupRequest is streamRequest for group endpoints: it also returns the
// group handle.
func groupRequest[T any](w http.ResponseWriter, r *http.Request, s *Server) (*courier.Group, T, bool) {
	name, req, ok := streamRequest[T](w, r, false)
	if !ok {
		return nil, req, false
	}
	group := r.PathValue("group")
	if err := driver.ValidateGroupName("group", group); err != nil {
		writeAPIError(w, err)
		return nil, req, false
	}
	return s.b.Stream(name).Group(group), req, true
}

func (s *Server) listStreams(w http.ResponseWriter, r *http.Request) {
	names, err := s.b.ListStreams(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, httpapi.StreamList{Streams: names})
}

// createStream creates a stream: 201 when created, 200 when it existed
// with equal attributes, 409 when it exists with others.
func (s *Server) createStream(w http.ResponseWriter, r *http.Request) {
	name, req, ok := streamRequest[httpapi.StreamAttributes](w, r, true)
	if !ok {
		return
	}
	attrs := driver.DefaultStreamAttributes()
	req.ApplyTo(&attrs)
	_, err := s.b.Stream(name).Info(r.Context())
	existed := err == nil
	st, err := s.b.CreateStream(r.Context(), name, courier.WithStreamAttributes(attrs))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	info, err := st.Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, httpapi.StreamInfoJSON(info))
}

// updateStream changes the attributes present in the body.
func (s *Server) updateStream(w http.ResponseWriter, r *http.Request) {
	name, req, ok := streamRequest[httpapi.StreamAttributes](w, r, false)
	if !ok {
		return
	}
	info, err := s.b.Stream(name).SetAttributes(r.Context(), func(a *courier.StreamAttributes) { req.ApplyTo(a) })
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.StreamInfoJSON(info))
}

func (s *Server) streamInfo(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := driver.ValidateStreamName("name", name); err != nil {
		writeAPIError(w, err)
		return
	}
	info, err := s.b.Stream(name).Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.StreamInfoJSON(info))
}

func (s *Server) deleteStream(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := driver.ValidateStreamName("name", name); err != nil {
		writeAPIError(w, err)
		return
	}
	if err := s.b.DeleteStream(r.Context(), name); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DecodeAppend decodes the body of an append into records.
func DecodeAppend(data []byte) ([]courier.Record, error) {
	var req httpapi.AppendRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return nil, err
	}
	if len(req.Records) == 0 {
		return nil, driver.Invalid("records", "must be a non-empty array of records")
	}
	if len(req.Records) > driver.MaxBatch {
		return nil, driver.TooLarge("records", "batch has %d records; the limit is %d", len(req.Records), driver.MaxBatch)
	}
	recs := make([]courier.Record, len(req.Records))
	for i := range req.Records {
		var err error
		if recs[i], err = req.Records[i].Driver(fmt.Sprintf("records[%d]", i)); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

func (s *Server) appendRecords(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := driver.ValidateStreamName("name", name)
	var recs []courier.Record
	if err == nil {
		var data []byte
		if data, err = readBody(r, w); err == nil {
			recs, err = DecodeAppend(data)
		}
	}
	if err == nil {
		err = s.checkRecords(recs)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	res, err := s.b.Stream(name).AppendBatch(r.Context(), recs)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.AppendResultsJSON(res))
}

func (s *Server) readStream(w http.ResponseWriter, r *http.Request) {
	name, req, ok := streamRequest[httpapi.ReadRequest](w, r, false)
	if !ok {
		return
	}
	dr, err := req.Driver()
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if s.draining() {
		dr.Wait = 0
	}
	ctx, cancel := s.pollContext(r)
	defer cancel()
	sd := s.b.Stream(name)
	recs, next, err := sd.Read(ctx, dr.Partition, dr.From, courier.ReadMax(dr.Max), courier.ReadMaxBytes(dr.MaxBytes), courier.ReadWait(dr.Wait))
	if err != nil && s.draining() && errors.Is(err, ctx.Err()) && r.Context().Err() == nil {
		// The drain cut the wait: read again without waiting, for the
		// records there are and the real next offset.
		recs, next, err = sd.Read(r.Context(), dr.Partition, dr.From, courier.ReadMax(dr.Max), courier.ReadMaxBytes(dr.MaxBytes), courier.ReadWait(0))
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	info, err := sd.Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	var end int64
	if dr.Partition < len(info.Partitions) {
		end = info.Partitions[dr.Partition].End
	}
	writeJSON(w, http.StatusOK, httpapi.ReadResponse{Records: httpapi.StreamRecordsJSON(recs), Next: next, End: end})
}

func (s *Server) joinGroup(w http.ResponseWriter, r *http.Request) {
	g, req, ok := groupRequest[httpapi.JoinRequest](w, r, s)
	if !ok {
		return
	}
	opts := []courier.JoinOption{courier.SessionTimeout(time.Duration(req.SessionTimeout))}
	switch driver.PositionKind(req.StartFrom) {
	case "", driver.FromEarliest:
	case driver.FromLatest:
		opts = append(opts, courier.StartFromLatest())
	default:
		writeAPIError(w, driver.Invalid("start_from", "%q: use \"earliest\" or \"latest\"", req.StartFrom))
		return
	}
	c, err := g.Join(r.Context(), req.Member, opts...)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.AssignmentJSON(c.Assignment()))
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	g, req, ok := groupRequest[httpapi.MemberRequest](w, r, s)
	if !ok {
		return
	}
	a, err := g.Consumer(req.Member).Heartbeat(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.AssignmentJSON(a))
}

func (s *Server) poll(w http.ResponseWriter, r *http.Request) {
	g, req, ok := groupRequest[httpapi.PollRequest](w, r, s)
	if !ok {
		return
	}
	wait := time.Duration(req.Wait)
	if s.draining() {
		wait = 0
	}
	ctx, cancel := s.pollContext(r)
	defer cancel()
	c := g.Consumer(req.Member)
	recs, err := c.Poll(ctx, req.Max, wait)
	if err != nil && !(s.draining() && errors.Is(err, ctx.Err())) {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.PollResponse{Records: httpapi.StreamRecordsJSON(recs), Assignment: httpapi.AssignmentJSON(c.Assignment())})
}

func (s *Server) commit(w http.ResponseWriter, r *http.Request) {
	g, req, ok := groupRequest[httpapi.CommitRequest](w, r, s)
	if !ok {
		return
	}
	offs, err := httpapi.OffsetsDriver("offsets", req.Offsets)
	if err == nil && len(offs) == 0 {
		err = driver.Invalid("offsets", "nothing to commit")
	}
	if err == nil {
		err = g.Consumer(req.Member).CommitOffsets(r.Context(), req.Generation, offs)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	g, req, ok := groupRequest[httpapi.MemberRequest](w, r, s)
	if !ok {
		return
	}
	if err := g.Consumer(req.Member).Leave(r.Context()); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) resetOffsets(w http.ResponseWriter, r *http.Request) {
	g, req, ok := groupRequest[httpapi.ResetRequest](w, r, s)
	if !ok {
		return
	}
	if req.To == nil {
		writeAPIError(w, driver.Invalid("to", "required: \"earliest\", \"latest\", {\"offset\": N} or {\"time\": ...}"))
		return
	}
	offs, err := g.ResetOffsets(r.Context(), req.To.Position, req.Partitions...)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.ResetResponse{Offsets: httpapi.OffsetsJSON(offs)})
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) {
	name, group := r.PathValue("name"), r.PathValue("group")
	err := driver.ValidateStreamName("name", name)
	if err == nil {
		err = driver.ValidateGroupName("group", group)
	}
	if err == nil {
		err = s.b.Stream(name).Group(group).Delete(r.Context())
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
