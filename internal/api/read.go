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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/evidence"
	"github.com/truce-mechanism/truce/internal/mechanism"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store"
	"golang.org/x/mod/sumdb/note"
)

// CharterVersion is one entry of the charter's history.
type CharterVersion struct {
	Version     int       `json:"version"`
	Index       uint64    `json:"index"`
	StatementID string    `json:"statement_id"`
	Received    time.Time `json:"received"`
	Signers     []string  `json:"signers"`
}

func (s *server) charters(w http.ResponseWriter, r *http.Request) ([]*state.Charter, bool) {
	rows, err := s.Store.Charters(r.Context())
	if err != nil {
		s.internal(w, err)
		return nil, false
	}
	if len(rows) == 0 {
		writeError(w, http.StatusNotFound, "the mechanism has no charter yet")
		return nil, false
	}
	out := make([]*state.Charter, len(rows))
	for i, row := range rows {
		out[i] = new(state.Charter)
		if err := json.Unmarshal(row.Doc, out[i]); err != nil {
			s.internal(w, err)
			return nil, false
		}
	}
	return out, true
}

func (s *server) getCharter(w http.ResponseWriter, r *http.Request) {
	cs, ok := s.charters(w, r)
	if !ok {
		return
	}
	writeCharter(w, cs, cs[len(cs)-1])
}

// getCharterVersion serves one charter version whole, in the shape of
// GET /v1/charter: what an auditor or a receipt's verifier needs to check
// what was in force before an amendment.
func (s *server) getCharterVersion(w http.ResponseWriter, r *http.Request) {
	cs, ok := s.charters(w, r)
	if !ok {
		return
	}
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 || v > len(cs) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no charter version %q: the versions are 1 to %d", r.PathValue("version"), len(cs)))
		return
	}
	writeCharter(w, cs, cs[v-1])
}

func writeCharter(w http.ResponseWriter, cs []*state.Charter, c *state.Charter) {
	history := make([]CharterVersion, len(cs))
	for i, c := range cs {
		history[i] = CharterVersion{Version: c.Version, Index: c.Index, StatementID: c.StatementID, Received: c.Received, Signers: c.Signers}
	}
	writeJSON(w, http.StatusOK, struct {
		*state.Charter
		History []CharterVersion `json:"history"`
	}{c, history})
}

// MemberView is a member with the keyids of its keys.
type MemberView struct {
	truce.Member
	KeyIDs []string `json:"keyids"`
}

func (s *server) getMembers(w http.ResponseWriter, r *http.Request) {
	cs, ok := s.charters(w, r)
	if !ok {
		return
	}
	c := cs[len(cs)-1]
	items := make([]MemberView, len(c.Members))
	for i, m := range c.Members {
		items[i] = MemberView{Member: m, KeyIDs: []string{}}
		for _, k := range m.Keys {
			if pub, err := truce.ParsePublicKey(k); err == nil {
				items[i].KeyIDs = append(items[i].KeyIDs, truce.KeyID(pub))
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": c.Version, "parties": c.Parties, "items": items})
}

var statuses = []string{state.StatusAwaitingReply, state.StatusOpen, state.StatusDisputed, state.StatusDecided, state.StatusWithdrawn}

// ParseFilter reads a subject list's filter from query parameters: from,
// to (dates), place, type, party, status, limit, cursor.
func ParseFilter(q map[string][]string) (store.Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	var f store.Filter
	var err error
	if v := get("from"); v != "" {
		if f.From, err = truce.ParseWhen(v); err != nil {
			return f, fmt.Errorf("from %q is not a date such as 2025-11-07", v)
		}
	}
	if v := get("to"); v != "" {
		if f.To, err = truce.ParseWhen(v); err != nil {
			return f, fmt.Errorf("to %q is not a date such as 2025-11-30", v)
		}
		if len(v) == len(time.DateOnly) {
			f.To = f.To.AddDate(0, 0, 1) // a date includes its whole day
		}
	}
	f.Place, f.EventType, f.Party, f.Status, f.Cursor = get("place"), get("type"), get("party"), get("status"), get("cursor")
	if f.Status != "" {
		ok := false
		for _, s := range statuses {
			ok = ok || s == f.Status
		}
		if !ok {
			return f, fmt.Errorf("status %q is not one of %s", f.Status, strings.Join(statuses, ", "))
		}
	}
	if v := get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return f, fmt.Errorf("limit %q must be a whole number from 1 to 1000", v)
		}
	}
	return f, nil
}

func (s *server) listSubjects(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := ParseFilter(r.URL.Query())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		rows, next, err := s.Store.Subjects(r.Context(), kind, f)
		if err != nil {
			if errors.Is(err, store.ErrBadCursor) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("cursor %q is not one this API gave: %v", f.Cursor, err))
				return
			}
			s.internal(w, err)
			return
		}
		// The documents are the projection's own JSON: written as they are,
		// not checked and re-encoded by encoding/json.
		var b bytes.Buffer
		b.WriteString(`{"items":[`)
		for i, row := range rows {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(row.Doc)
		}
		b.WriteString(`],"next":`)
		nextJSON, _ := json.Marshal(next)
		b.Write(nextJSON)
		b.WriteString("}\n")
		w.Header().Set("Content-Type", "application/json")
		w.Write(b.Bytes())
	}
}

func (s *server) getSubject(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		row, err := s.Store.Subject(r.Context(), kind, r.PathValue("id"))
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no %s with id %s", kind, r.PathValue("id")))
			return
		} else if err != nil {
			s.internal(w, err)
			return
		}
		doc, err := s.withPublication(r.Context(), row.Doc)
		if err != nil {
			s.internal(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}
}

// Publication says which of a subject's findings are published: decided
// at a log index that the latest checkpoint covers, and that checkpoint
// witnessed as the charter's policy asks. Until then a finding is made,
// and final, but not yet on the record that the witnesses vouch for.
type Publication struct {
	// CheckpointSize is the size of the latest published checkpoint.
	CheckpointSize uint64 `json:"checkpoint_size"`
	// Witnessed reports whether that checkpoint meets the witness policy.
	Witnessed bool `json:"witnessed"`
	// Published lists the decided questions it covers.
	Published []string `json:"published"`
}

// withPublication adds the subject's Publication to its document, as
// "publication".
func (s *server) withPublication(ctx context.Context, doc []byte) ([]byte, error) {
	var sub struct {
		Questions map[string]struct {
			DecidedAt *uint64 `json:"decided_at"`
		} `json:"questions"`
	}
	if err := json.Unmarshal(doc, &sub); err != nil {
		return nil, fmt.Errorf("cannot read the subject's document: %w", err)
	}
	p := Publication{Published: []string{}}
	if cp, err := s.Log.Checkpoint(ctx); err == nil {
		if c, _ := openCheckpoint(s.Mechanism, s.logVerifier, cp, s.Logger); c != nil {
			p.CheckpointSize, p.Witnessed = uint64(c.Size), c.Witnessed
		}
	}
	for name, q := range sub.Questions {
		if q.DecidedAt != nil && *q.DecidedAt < p.CheckpointSize && p.Witnessed {
			p.Published = append(p.Published, name)
		}
	}
	sort.Strings(p.Published)
	extra, _ := json.Marshal(p)
	i := bytes.LastIndexByte(doc, '}')
	if i < 0 {
		return nil, errors.New("cannot read the subject's document: not a JSON object")
	}
	out := make([]byte, 0, len(doc)+len(extra)+20)
	out = append(out, doc[:i]...)
	out = append(out, `,"publication":`...)
	out = append(out, extra...)
	return append(out, doc[i:]...), nil
}

// openCheckpoint opens the published checkpoint with the witness policy
// in force at its size, and returns both; the checkpoint is nil if it
// does not open.
func openCheckpoint(m *mechanism.Mechanism, logKey note.Verifier, cp []byte, logger *slog.Logger) (*truce.Checkpoint, *truce.WitnessPolicy) {
	var size uint64
	if lines := strings.SplitN(string(cp), "\n", 3); len(lines) >= 2 {
		size, _ = strconv.ParseUint(lines[1], 10, 64)
	}
	// The policy is the one in force at the checkpoint's size. While the
	// fold has not reached it (for a moment after a restart), nothing is
	// claimed about the witnesses: the policy is nil.
	policy, ok := m.WitnessPolicy(size)
	if !ok || logKey == nil {
		return nil, nil
	}
	c, err := truce.OpenCheckpoint(cp, logKey, policy)
	if err != nil {
		logger.Error("the published checkpoint does not open", "error", err)
		return nil, policy
	}
	return c, policy
}

func (s *server) getCompliance(w http.ResponseWriter, r *http.Request) {
	doc, err := s.Store.Document(r.Context(), "compliance")
	if errors.Is(err, store.ErrNotFound) {
		var c *state.Compliance
		s.Mechanism.Read(func(st *state.State) { c = st.Compliance() })
		writeJSON(w, http.StatusOK, c)
		return
	} else if err != nil {
		s.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(doc)
}

func (s *server) putEvidence(w http.ResponseWriter, r *http.Request) {
	sum := r.PathValue("sha256")
	if !evidence.ValidName(sum) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a lowercase hex SHA-256", sum))
		return
	}
	var size int64
	var ok bool
	s.Mechanism.Read(func(st *state.State) { size, ok = st.Evidence(sum) })
	if !ok {
		writeError(w, http.StatusForbidden, "no accepted evidence.add names this sha256: submit the signed evidence.add first, then upload the file")
		return
	}
	// Reading one byte past size trips the limit: a larger file is 413.
	body := http.MaxBytesReader(w, r.Body, min(size, MaxEvidenceSize))
	if err := s.Evidence.Put(sum, size, body); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is larger than the %d bytes its evidence record gives", size))
		case errors.Is(err, evidence.ErrMismatch):
			writeError(w, http.StatusBadRequest, err.Error())
		default:
			s.internal(w, err)
		}
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"sha256": sum, "size": size})
}

func (s *server) getEvidence(w http.ResponseWriter, r *http.Request) {
	f, err := s.Evidence.Open(r.PathValue("sha256"))
	if errors.Is(err, evidence.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no evidence file with that sha256 has been uploaded")
		return
	} else if err != nil {
		s.internal(w, err)
		return
	}
	defer f.Close()
	// Evidence is served as opaque bytes, never rendered by the browser.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	io.Copy(w, f)
}

// LogInfo is what an auditor needs to start.
type LogInfo struct {
	Origin string `json:"origin"`
	Key    string `json:"key"`
	// Size is the size of the latest published checkpoint.
	Size uint64 `json:"size"`
	// Sequenced is how many entries the log holds, published or not:
	// entries beyond Size wait for the next checkpoint, and for the
	// witnesses' cosignatures.
	Sequenced uint64 `json:"sequenced"`
	// WitnessPolicy says in words whose cosignatures a checkpoint needs.
	WitnessPolicy string `json:"witness_policy"`
	// Witnessed reports whether the latest checkpoint carries them.
	Witnessed bool `json:"witnessed"`
	// Witnesses are the charter's witnesses and whether each cosigned the
	// latest checkpoint.
	Witnesses []WitnessInfo `json:"witnesses"`
}

// WitnessInfo is one of the charter's witnesses, as of the latest
// checkpoint.
type WitnessInfo struct {
	truce.Witness
	// Cosigned is when it cosigned the latest checkpoint; absent if it
	// did not.
	Cosigned *time.Time `json:"cosigned,omitempty"`
}

func (s *server) getLog(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ReadLogInfo(r.Context(), s.Mechanism, s.Log, s.LogKey, s.Logger))
}

// Checkpoints is what ReadLogInfo reads of the log.
type Checkpoints interface {
	// Size is how many entries the log has sequenced.
	Size(ctx context.Context) (uint64, error)
	// Checkpoint is the latest published checkpoint.
	Checkpoint(ctx context.Context) ([]byte, error)
}

// ReadLogInfo is what GET /v1/log answers, and what the web UI shows of
// the log's health: the published checkpoint opened with the log's key
// (logKey, a signed-note verifier key) and the witness policy in force at
// its size, and which of the policy's witnesses cosigned it and when.
// Failures to read or open the checkpoint are logged and leave Size zero.
func ReadLogInfo(ctx context.Context, m *mechanism.Mechanism, log Checkpoints, logKey string, logger *slog.Logger) LogInfo {
	info := LogInfo{Origin: m.Origin(), Key: logKey, Witnesses: []WitnessInfo{}}
	var err error
	if info.Sequenced, err = log.Size(ctx); err != nil {
		logger.Error("cannot read the log's size", "error", err)
	}
	cp, err := log.Checkpoint(ctx)
	if err != nil {
		info.WitnessPolicy = "no checkpoint yet"
		return info
	}
	// A key that does not parse verifies nothing: the checkpoint is then
	// reported as not witnessed, and the log says why.
	verifier, _ := note.NewVerifier(logKey)
	opened, policy := openCheckpoint(m, verifier, cp, logger)
	if policy == nil {
		info.WitnessPolicy = "not known yet: the server has not folded the checkpoint's entries"
		if lines := strings.SplitN(string(cp), "\n", 3); len(lines) >= 2 {
			info.Size, _ = strconv.ParseUint(lines[1], 10, 64)
		}
		return info
	}
	info.WitnessPolicy = policy.String()
	cosigned := map[string]time.Time{}
	if opened != nil {
		info.Size, info.Witnessed = uint64(opened.Size), opened.Witnessed
		for _, c := range opened.Cosignatures {
			cosigned[c.Witness] = c.Time
		}
	}
	for _, wi := range policy.Witnesses() {
		item := WitnessInfo{Witness: wi}
		if t, ok := cosigned[wi.Name]; ok {
			item.Cosigned = &t
		}
		info.Witnesses = append(info.Witnesses, item)
	}
	return info
}
