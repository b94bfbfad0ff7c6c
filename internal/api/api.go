// Package api is the mechanism's JSON API under /v1/, the C2SP log under
// /log/, and /metrics and /healthz. Handlers only decode, call the
// mechanism or the store, and encode.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/evidence"
	"github.com/truce-mechanism/truce/internal/mechanism"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store"
	"golang.org/x/mod/sumdb/note"
)

// MaxRequestBody is the largest request body for statements: 4 MiB.
const MaxRequestBody = 4 << 20

// MaxEvidenceSize is the largest evidence file: 256 MiB.
const MaxEvidenceSize = 256 << 20

// Log is what the API reads of the log.
type Log interface {
	Size(ctx context.Context) (uint64, error)
	Entries(ctx context.Context, from, to uint64) ([][]byte, error)
	Checkpoint(ctx context.Context) ([]byte, error)
	// Handler serves the log's C2SP tiles and checkpoint, below /log.
	Handler() http.Handler
}

// Config configures New.
type Config struct {
	Mechanism *mechanism.Mechanism
	Store     store.Store
	Log       Log
	Evidence  *evidence.Store
	// LogKey is the log's signed-note verifier key.
	LogKey string
	// Gatherer serves /metrics; nil serves the default registry.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// Web serves every path that is not the API's (/v1/, /log/, /metrics,
	// /healthz): the web UI. Nil serves 404 there.
	Web http.Handler
}

type server struct {
	Config
	logVerifier note.Verifier
}

// New returns the API's handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	s := &server{Config: cfg}
	// A key that does not parse verifies nothing: /v1/log then reports
	// the checkpoint as not witnessed, and the log says why.
	s.logVerifier, _ = note.NewVerifier(cfg.LogKey)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/statements", s.postStatements)
	mux.HandleFunc("GET /v1/statements", s.listStatements)
	mux.HandleFunc("GET /v1/statements/{index}", s.getStatement)
	mux.HandleFunc("GET /v1/statements/{index}/receipt", s.getReceipt)
	mux.HandleFunc("GET /v1/charter", s.getCharter)
	mux.HandleFunc("GET /v1/charter/{version}", s.getCharterVersion)
	mux.HandleFunc("GET /v1/members", s.getMembers)
	mux.HandleFunc("GET /v1/incidents", s.listSubjects(store.KindIncident))
	mux.HandleFunc("GET /v1/actions", s.listSubjects(store.KindAction))
	mux.HandleFunc("GET /v1/incidents/{id}", s.getSubject(store.KindIncident))
	mux.HandleFunc("GET /v1/actions/{id}", s.getSubject(store.KindAction))
	mux.HandleFunc("GET /v1/compliance", s.getCompliance)
	mux.HandleFunc("PUT /v1/evidence/{sha256}", s.putEvidence)
	mux.HandleFunc("GET /v1/evidence/{sha256}", s.getEvidence)
	mux.HandleFunc("GET /v1/log", s.getLog)
	mux.HandleFunc("GET /v1/openapi.json", s.getOpenAPI)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such API resource: %s %s (see /v1/openapi.json)", r.Method, r.URL.Path))
	})
	mux.Handle("GET /log/", http.StripPrefix("/log", cfg.Log.Handler()))
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := cfg.Mechanism.Err(); err != nil {
			// The log still holds every acknowledged statement; a restart
			// catches the projection up from it.
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "the mechanism stopped applying entries: %v\n", err)
			return
		}
		io.WriteString(w, "ok\n")
	})
	api := secured(mux)
	if cfg.Web == nil {
		return api
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		cfg.Web.ServeHTTP(w, r)
	})
}

// secured adds to every API and log response the headers that keep a
// browser from running or framing what they carry: JSON, tiles and
// evidence files are data, never pages. (The web UI sets its own.)
func secured(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// apiPath reports whether the API serves path; the web UI serves the rest.
func apiPath(path string) bool {
	return path == "/v1" || strings.HasPrefix(path, "/v1/") || path == "/log" || strings.HasPrefix(path, "/log/") ||
		path == "/metrics" || path == "/healthz"
}

// Error is the shape of every error response.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]Error{"error": {Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// Status is the HTTP status for a refusal or rejection.
func Status(err error) int {
	var size *truce.SizeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &size), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, truce.ErrMalformed), errors.Is(err, state.ErrUnknownSubject):
		return http.StatusBadRequest
	case errors.Is(err, state.ErrSignature):
		return http.StatusUnauthorized
	case errors.Is(err, state.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, state.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// Verdict is the fold's verdict as the API shows it.
type Verdict struct {
	Accepted bool   `json:"accepted"`
	Reason   string `json:"reason,omitempty"`
}

// errorResult is a refusal, or a failure after the entry was logged, in
// which case Index says where it is.
type errorResult struct {
	Error *Error  `json:"error"`
	Index *uint64 `json:"index,omitempty"`
}

type result struct {
	Index   *uint64  `json:"index,omitempty"`
	Verdict *Verdict `json:"verdict,omitempty"`
	Error   *Error   `json:"error,omitempty"`
}

func toResult(r mechanism.Result) (int, result) {
	if r.Err != nil {
		code := Status(r.Err)
		out := result{Error: &Error{Code: code, Message: r.Err.Error()}}
		if r.Logged {
			// The statement is in the log all the same: say where.
			i := r.Index
			out.Index = &i
		}
		return code, out
	}
	v := &Verdict{Accepted: r.Verdict.Accepted}
	if r.Verdict.Err != nil {
		v.Reason = r.Verdict.Err.Error()
	}
	i := r.Index
	return http.StatusCreated, result{Index: &i, Verdict: v}
}

func (s *server) postStatements(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over %d bytes; send fewer envelopes at a time", MaxRequestBody))
			return
		}
		writeError(w, http.StatusBadRequest, "cannot read request body: "+err.Error())
		return
	}
	raws, batch, err := splitBatch(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "request body is not a JSON object (one envelope, or {\"envelopes\":[…]}): "+err.Error())
		return
	}
	if !batch {
		res := s.Mechanism.Submit(r.Context(), [][]byte{body})
		code, out := toResult(res[0])
		if out.Error != nil {
			writeJSON(w, code, errorResult{Error: out.Error, Index: out.Index})
			return
		}
		writeJSON(w, code, out)
		return
	}
	res := s.Mechanism.Submit(r.Context(), raws)
	out := make([]result, len(res))
	for i, r := range res {
		_, out[i] = toResult(r)
	}
	writeJSON(w, http.StatusOK, map[string][]result{"results": out})
}

// Statement is an entry of the log with its verdict.
type Statement struct {
	Index   uint64          `json:"index"`
	Entry   json.RawMessage `json:"entry"`
	Verdict Verdict         `json:"verdict"`
}

func (s *server) getStatement(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a log index (a whole number from 0)", r.PathValue("index")))
		return
	}
	v, err := s.Store.Verdict(r.Context(), index)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no statement at log index %d", index))
		return
	} else if err != nil {
		s.internal(w, err)
		return
	}
	entries, err := s.Log.Entries(r.Context(), index, index+1)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Statement{Index: index, Entry: entries[0], Verdict: Verdict{Accepted: v.Accepted, Reason: v.Reason}})
}

// VerdictRow is a verdict as the statement list shows it.
type VerdictRow struct {
	Index    uint64    `json:"index"`
	Received time.Time `json:"received"`
	ID       string    `json:"id,omitempty"`
	Type     string    `json:"type,omitempty"`
	Author   string    `json:"author,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Verdict  Verdict   `json:"verdict"`
}

func (s *server) listStatements(w http.ResponseWriter, r *http.Request) {
	limit, from, err := pageArgs(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	vs, err := s.Store.Verdicts(r.Context(), from, limit)
	if err != nil {
		s.internal(w, err)
		return
	}
	items := make([]VerdictRow, len(vs))
	for i, v := range vs {
		items[i] = VerdictRow{Index: v.Index, Received: v.Received, ID: v.ID, Type: v.Type, Author: v.Author, Subject: v.Subject,
			Verdict: Verdict{Accepted: v.Accepted, Reason: v.Reason}}
	}
	next := ""
	if len(vs) == limit {
		// A full page is the last one when nothing follows it: next is
		// empty at the end.
		after := vs[len(vs)-1].Index + 1
		more, err := s.Store.Verdicts(r.Context(), after, 1)
		if err != nil {
			s.internal(w, err)
			return
		}
		if len(more) > 0 {
			next = strconv.FormatUint(after, 10)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": next})
}

func pageArgs(r *http.Request) (limit int, from uint64, err error) {
	limit = 100
	if l := r.URL.Query().Get("limit"); l != "" {
		limit, err = strconv.Atoi(l)
		if err != nil || limit < 1 || limit > 1000 {
			return 0, 0, fmt.Errorf("limit %q must be a whole number from 1 to 1000", l)
		}
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		from, err = strconv.ParseUint(c, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("cursor %q is not one this API gave", c)
		}
	}
	return limit, from, nil
}

func (s *server) internal(w http.ResponseWriter, err error) {
	s.Logger.Error("request failed", "err", err)
	writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
}

// splitBatch tells one envelope from a batch {"envelopes":[...]}, and
// splits a batch into its envelopes' bytes, reading each once.
func splitBatch(body []byte) (envelopes [][]byte, batch bool, err error) {
	d := json.NewDecoder(bytes.NewReader(body))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		if err == nil {
			err = fmt.Errorf("it begins with %v", tok)
		}
		return nil, false, err
	}
	if !d.More() {
		return nil, false, nil // {}: one envelope, which parsing refuses
	}
	if key, err := d.Token(); err != nil || key != "envelopes" {
		if err != nil {
			return nil, false, err
		}
		if !json.Valid(body) {
			return nil, false, errors.New("it is not valid JSON")
		}
		return nil, false, nil
	}
	if tok, err := d.Token(); err != nil || tok != json.Delim('[') {
		return nil, true, errors.New(`"envelopes" must be a list of envelopes`)
	}
	envelopes = [][]byte{}
	for d.More() {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, true, err
		}
		envelopes = append(envelopes, raw)
	}
	if _, err := d.Token(); err != nil {
		return nil, true, err
	}
	if tok, err := d.Token(); err != nil || tok != json.Delim('}') {
		return nil, true, errors.New(`a batch holds "envelopes" and nothing else`)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, true, errors.New("trailing data after the JSON object")
	}
	return envelopes, true, nil
}
