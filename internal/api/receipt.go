package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/ledger"
)

// receiptRetryAfter is the Retry-After, in seconds, of a receipt that is
// not ready: about two checkpoint intervals.
const receiptRetryAfter = 2

// ReceiptLog is what the receipt handler needs of the log beyond Log;
// *ledger.Ledger has it.
type ReceiptLog interface {
	Receipt(ctx context.Context, index uint64) (*ledger.Receipt, error)
}

var _ ReceiptLog = (*ledger.Ledger)(nil)

// getReceipt answers with the receipt of the entry at an index: a C2SP
// tlog-proof file that carries the entry (see truce.MarshalReceipt),
// proven at the latest published checkpoint.
func (s *server) getReceipt(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a log index (a whole number from 0)", r.PathValue("index")))
		return
	}
	log, ok := s.Log.(ReceiptLog)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this server's log cannot prove entries")
		return
	}
	rc, err := log.Receipt(r.Context(), index)
	switch {
	case errors.Is(err, ledger.ErrNotLogged):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no statement at log index %d", index))
		return
	case errors.Is(err, ledger.ErrNotPublished):
		w.Header().Set("Retry-After", strconv.Itoa(receiptRetryAfter))
		writeError(w, http.StatusServiceUnavailable, s.notPublished(index, err))
		return
	case err != nil:
		s.internal(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="receipt-%d.tlog-proof"`, index))
	h.Set("X-Content-Type-Options", "nosniff")
	// A later request may prove the entry at a newer checkpoint.
	h.Set("Cache-Control", "no-cache")
	w.Write(truce.MarshalReceipt(int64(rc.Index), rc.Entry, rc.Proof, rc.Checkpoint))
}

// notPublished says why an entry has no receipt yet.
func (s *server) notPublished(index uint64, err error) string {
	why := "the log publishes a new checkpoint within seconds"
	if p, ok := s.Mechanism.WitnessPolicy(s.Mechanism.Next()); ok && len(p.Witnesses()) > 0 {
		why = fmt.Sprintf("a new checkpoint is published only once the witnesses have cosigned it as the charter's policy asks (%s), and they have not yet", p)
	}
	return fmt.Sprintf("statement %d is logged, but not yet in a published checkpoint: %s; retry in %d seconds (%v)", index, why, receiptRetryAfter, err)
}
