package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/witness"
)

// The demo's charter names four witnesses, one kept by each party and each
// mediator, and needs both parties' cosignatures and one mediator's on
// every checkpoint. The demo runs them itself, in DIR/witnesses/<name>/.
// Their addresses in the charter are under .invalid, a top-level name that
// no resolver answers, and the demo's HTTP client hands requests for them
// to the witnesses in the same process; the demo's server also serves them
// at /demo/witnesses/<name>/, so that auditors can ask them what they
// cosigned.

// witnessHost ends the host name of every demo witness's address.
const witnessHost = ".witnesses.truce-demo.invalid"

// WitnessPath is where the demo's server serves its witnesses:
// WitnessPath + <name> + "/".
const WitnessPath = "/demo/witnesses/"

// witnessNames are the demo's witnesses, by their names in the charter.
var witnessNames = []string{"af-witness", "pk-witness", "tr-witness", "qa-witness"}

// witnessPolicy needs both parties' witnesses and one mediator's.
const witnessPolicy = `{"all": ["af-witness", "pk-witness", {"any": ["tr-witness", "qa-witness"]}]}`

// witnessKey derives a demo witness's signed-note key from the demo's seed.
func witnessKey(seed int64, name string) (string, error) {
	h := sha256.New()
	h.Write([]byte("truce demo witness key\x00"))
	binary.Write(h, binary.BigEndian, seed)
	h.Write([]byte(name))
	skey, _, err := note.GenerateKey(bytes.NewReader(h.Sum(nil)), "witness.truce-demo.example/"+name)
	if err != nil {
		return "", fmt.Errorf("cannot make the key of witness %s: %w", name, err)
	}
	return skey, nil
}

// charterWitnesses lists the demo's witnesses as its charter does.
func charterWitnesses(seed int64) ([]truce.Witness, error) {
	var out []truce.Witness
	for _, name := range witnessNames {
		skey, err := witnessKey(seed, name)
		if err != nil {
			return nil, err
		}
		vkey, err := witness.VerifierKey(skey)
		if err != nil {
			return nil, err
		}
		out = append(out, truce.Witness{Name: name, Key: vkey, URL: "http://" + name + witnessHost + "/"})
	}
	return out, nil
}

// witnesses are the demo's running witnesses.
type witnesses struct {
	byName   map[string]*witness.Witness
	handlers map[string]http.Handler // by name
	// client reaches them: the ledger sends checkpoints through it.
	client *http.Client
}

// openWitnesses opens the demo's witnesses in dir/witnesses, following the
// log whose verifier key is logKey.
func openWitnesses(ctx context.Context, dir string, seed int64, logKey string) (_ *witnesses, err error) {
	origin, _, _ := strings.Cut(logKey, "+")
	ws := &witnesses{byName: map[string]*witness.Witness{}, handlers: map[string]http.Handler{}}
	defer func() {
		if err != nil {
			ws.Close()
		}
	}()
	for _, name := range witnessNames {
		skey, err := witnessKey(seed, name)
		if err != nil {
			return nil, err
		}
		signer, err := witness.NewSigner(skey)
		if err != nil {
			return nil, err
		}
		vkey, _ := witness.VerifierKey(skey)
		w, err := witness.Open(ctx, witness.Config{
			Dir: filepath.Join(dir, "witnesses", name), Signer: signer, VerifierKey: vkey,
			Logs: map[string]string{origin: logKey},
		})
		if err != nil {
			return nil, fmt.Errorf("cannot open the demo's witness %s: %w", name, err)
		}
		ws.byName[name] = w
		ws.handlers[name] = w.Handler()
	}
	ws.client = &http.Client{Transport: ws}
	return ws, nil
}

// RoundTrip serves a request for a demo witness's address with that
// witness's handler, in process.
func (ws *witnesses) RoundTrip(req *http.Request) (*http.Response, error) {
	name, ok := strings.CutSuffix(req.URL.Hostname(), witnessHost)
	h := ws.handlers[name]
	if !ok || h == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%s is not one of the demo's witnesses", req.URL.Host)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// Handler serves each witness at WitnessPath + <name> + "/".
func (ws *witnesses) Handler() http.Handler {
	mux := http.NewServeMux()
	for name, h := range ws.handlers {
		prefix := WitnessPath + name
		mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	}
	return mux
}

// Close closes every witness.
func (ws *witnesses) Close() error {
	var errs []error
	for _, w := range ws.byName {
		errs = append(errs, w.Close())
	}
	return errors.Join(errs...)
}

// historyPolicy is the witness policy of a history the generator has
// already folded: it knows every charter, so every size's policy.
type historyPolicy struct{ charters []*state.Charter }

func (h historyPolicy) Policy(size uint64) (*truce.WitnessPolicy, bool) {
	p, err := state.WitnessPolicy(h.charters, size)
	return p, err == nil
}

func (h historyPolicy) Policies(from, to uint64) ([]*truce.WitnessPolicy, bool) {
	ps, err := state.WitnessPolicies(h.charters, from, to)
	return ps, err == nil
}
