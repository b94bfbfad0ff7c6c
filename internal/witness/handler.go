package witness

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MaxBodySize is the largest request body the handler reads: a checkpoint
// with a hundred signatures and 63 proof lines is a fraction of it.
const MaxBodySize = 64 << 10

// Handler serves the witness:
//
//	POST /add-checkpoint          C2SP tlog-witness
//	GET  /checkpoint?origin=ORIGIN the latest checkpoint cosigned for the log
//	GET  /                        a short description
//	GET  /healthz                 ok
//
// GET /checkpoint lets auditors compare what the witness cosigned with
// what the log serves, and so detect a split view. Bodies over MaxBodySize
// are refused.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.serveAdd)
	mux.HandleFunc("GET /checkpoint", w.serveCheckpoint)
	mux.HandleFunc("GET /{$}", w.serveIndex)
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, r *http.Request) {
		text(rw, http.StatusOK, "ok\n")
	})
	return http.MaxBytesHandler(mux, MaxBodySize)
}

// serveAdd answers add-checkpoint with the statuses the spec gives.
//
// SPEC: https://c2sp.org/tlog-witness#add-checkpoint
func (w *Witness) serveAdd(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			text(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over %d bytes\n", MaxBodySize))
			return
		}
		text(rw, http.StatusBadRequest, "cannot read request body\n")
		return
	}
	cosig, err := w.AddCheckpoint(r.Context(), body)
	var conflict *ConflictError
	switch {
	case err == nil:
		text(rw, http.StatusOK, string(cosig))
	case errors.As(err, &conflict):
		// Exactly this content type, with no parameters: Tessera's client
		// compares it byte for byte.
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", conflict.Size)
	case errors.Is(err, ErrMalformed):
		text(rw, http.StatusBadRequest, err.Error()+"\n")
	case errors.Is(err, ErrUnknownLog):
		text(rw, http.StatusNotFound, err.Error()+"\n")
	case errors.Is(err, ErrBadSignature):
		text(rw, http.StatusForbidden, err.Error()+"\n")
	case errors.Is(err, ErrRootMismatch):
		text(rw, http.StatusConflict, err.Error()+"\n")
	case errors.Is(err, ErrInconsistent):
		text(rw, http.StatusUnprocessableEntity, err.Error()+"\n")
	default:
		w.log.Error("cannot add checkpoint", "error", err)
		text(rw, http.StatusInternalServerError, "internal error\n")
	}
}

func (w *Witness) serveCheckpoint(rw http.ResponseWriter, r *http.Request) {
	origin := r.URL.Query().Get("origin")
	if origin == "" {
		text(rw, http.StatusBadRequest, "give the log's origin: /checkpoint?origin=ORIGIN\n")
		return
	}
	cp, err := w.Checkpoint(origin)
	if err != nil {
		text(rw, http.StatusNotFound, err.Error()+"\n")
		return
	}
	text(rw, http.StatusOK, string(cp))
}

func (w *Witness) serveIndex(rw http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "truce witness %s\n", w.Name())
	if w.vkey != "" {
		fmt.Fprintf(&b, "key %s\n", w.vkey)
	}
	b.WriteString("\nIt cosigns checkpoints (https://c2sp.org/tlog-witness) at POST /add-checkpoint,\n")
	b.WriteString("and serves the latest it cosigned for a log at GET /checkpoint?origin=ORIGIN.\n\nlogs:\n")
	for _, l := range w.Logs() {
		size := "none cosigned yet"
		if l.Cosigned {
			size = fmt.Sprintf("size %d", l.Size)
		}
		fmt.Fprintf(&b, "  %s  %s\n    key %s\n", l.Origin, size, l.VerifierKey)
	}
	text(rw, http.StatusOK, b.String())
}

func text(rw http.ResponseWriter, status int, body string) {
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	io.WriteString(rw, body)
}
