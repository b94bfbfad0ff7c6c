package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce"
)

const verifyReceiptUsage = "verify-receipt --log-key KEY [--charter FILE] RECEIPT..."

func runVerifyReceipt(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "verify-receipt", verifyReceiptUsage)
	key := fs.String("log-key", "", "the log's signed-note verifier key, from a source you trust (not the server)")
	charterFile := fs.String("charter", "", "the charter, for its witnesses, witness policy and member keys: the JSON that GET /v1/charter answers, "+
		"or the charter's signed envelope (as truce sign writes it), or its statement; without it, neither the witnesses nor the author's signature are checked")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" {
		return withHint(errors.New("give the log's verifier key with --log-key"),
			"take it from a source you trust, such as a party's mechanism.json (log_key)")
	}
	if fs.NArg() == 0 {
		return withHint(errors.New("give at least one receipt file"), "truce receipt --server URL INDEX writes one")
	}
	logKey, err := note.NewVerifier(strings.TrimSpace(*key))
	if err != nil {
		return withHint(fmt.Errorf("--log-key is not a signed-note verifier key: %v", err), "a log key reads origin+hash+base64, such as the log_key of a data folder's mechanism.json")
	}
	var policy *truce.WitnessPolicy
	var members []truce.Member
	if *charterFile != "" {
		if policy, members, err = readCharter(*charterFile); err != nil {
			return withHint(err, "give the JSON that GET /v1/charter answers, or the charter's signed envelope")
		}
	}
	failed := 0
	var last error
	for i, name := range fs.Args() {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		v, err := verifyReceiptFile(name, logKey, policy, members)
		if err != nil {
			failed++
			last = err
			fmt.Fprintf(e.stdout, "%s: does not verify: %v\n", name, err)
			continue
		}
		printReceipt(e.stdout, name, v, policy)
	}
	switch {
	case failed == 0:
		return nil
	case len(fs.Args()) == 1:
		return receiptHint(last, logKey)
	}
	return fmt.Errorf("%d of %d receipts do not verify", failed, len(fs.Args()))
}

func verifyReceiptFile(name string, logKey note.Verifier, policy *truce.WitnessPolicy, members []truce.Member) (*truce.VerifiedReceipt, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read receipt: %w", err)
	}
	r, err := truce.ParseReceipt(data)
	if err != nil {
		return nil, err
	}
	return r.Verify(logKey, policy, members)
}

// receiptHint explains the usual causes of a receipt that fails.
func receiptHint(err error, logKey note.Verifier) error {
	switch {
	case errors.Is(err, truce.ErrNotWitnessed):
		return withHint(err, "the checkpoint lacks cosignatures the charter asks for: fetch a newer receipt once the witnesses have cosigned")
	case errors.Is(err, truce.ErrCheckpoint):
		return withHint(err, "is --log-key the key of the log that issued this receipt (%s)? and is the file as the server gave it?", logKey.Name())
	case errors.Is(err, truce.ErrNotIncluded), errors.Is(err, truce.ErrReceipt):
		return withHint(err, "the file was altered, or was not made by a truce server: fetch it again with truce receipt")
	}
	return err
}

// printReceipt writes what a verified receipt proves, for people.
func printReceipt(w io.Writer, name string, v *truce.VerifiedReceipt, policy *truce.WitnessPolicy) {
	cp := v.Checkpoint
	fmt.Fprintf(w, "%s: verified\n", name)
	fmt.Fprintf(w, "  index        %d\n", v.Index)
	fmt.Fprintf(w, "  log          %s, checkpoint of size %d signed by the log key\n", cp.Origin, cp.Size)
	switch {
	case !v.WitnessesChecked:
		fmt.Fprintf(w, "  witnesses    NOT CHECKED: give --charter to check the witnesses' cosignatures\n")
	case len(policy.Witnesses()) == 0:
		fmt.Fprintf(w, "  witnesses    none: the charter names no witnesses\n")
	default:
		var by []string
		for _, c := range cp.Cosignatures {
			by = append(by, fmt.Sprintf("%s at %s", c.Witness, c.Time.UTC().Format(time.RFC3339)))
		}
		fmt.Fprintf(w, "  witnesses    cosigned by %s; the policy, %s, is met\n", strings.Join(by, ", "), policy)
	}
	e := v.Entry
	fmt.Fprintf(w, "  received     %s (the log's clock)\n", e.Received.UTC().Format(truce.ReceivedLayout))
	st := e.Statement
	if st == nil {
		fmt.Fprintf(w, "  statement    not valid: %v\n", e.Problem)
		return
	}
	fmt.Fprintf(w, "  statement    %s %s\n", st.Type, st.ID)
	fmt.Fprintf(w, "  mechanism    %s\n", st.Mechanism)
	fmt.Fprintf(w, "  time         %s (the author's)\n", st.Time.UTC().Format(time.RFC3339))
	if s := subjectOf(st, e.Body); s != "" {
		fmt.Fprintf(w, "  subject      %s\n", s)
	}
	switch {
	case !v.AuthorChecked:
		fmt.Fprintf(w, "  author       %s; signature NOT CHECKED: give --charter to check it\n", st.Author)
	case v.AuthorKey == "":
		fmt.Fprintf(w, "  author       %s; signature not verified: %s\n", st.Author, v.AuthorProblem)
	default:
		fmt.Fprintf(w, "  author       %s; signature verified (key %s)\n", st.Author, v.AuthorKey[:16])
	}
}

// subjectOf is the incident or action a statement is about.
func subjectOf(st *truce.Statement, body any) string {
	switch b := body.(type) {
	case *truce.IncidentReport, *truce.ActionReport:
		return st.ID
	case *truce.Reply:
		return b.Subject
	case *truce.Assessment:
		return b.Subject
	case *truce.EvidenceAdd:
		return b.Subject
	case *truce.Withdraw:
		return b.Subject
	case *truce.AccessDenied:
		return b.Subject
	}
	return ""
}

// readCharter reads a charter file: the JSON of GET /v1/charter, a signed
// charter envelope, or a charter statement. It returns the charter's
// witness policy and members.
func readCharter(name string) (*truce.WitnessPolicy, []truce.Member, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read charter: %w", err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, nil, fmt.Errorf("%s is not JSON: %v", name, err)
	}
	var c truce.Charter
	switch {
	case probe["payloadType"] != nil:
		env, err := truce.ParseEnvelope(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		if c, err = charterStatement(name, env.Payload); err != nil {
			return nil, nil, err
		}
	case probe["type"] != nil && probe["body"] != nil:
		if c, err = charterStatement(name, data); err != nil {
			return nil, nil, err
		}
	default:
		// GET /v1/charter: the charter's fields at the top, with the
		// version's record and history, which are not needed here.
		d := json.NewDecoder(bytes.NewReader(data))
		if err := d.Decode(&struct {
			Members       *[]truce.Member  `json:"members"`
			Witnesses     *[]truce.Witness `json:"witnesses"`
			WitnessPolicy *json.RawMessage `json:"witness_policy"`
		}{&c.Members, &c.Witnesses, &c.WitnessPolicy}); err != nil {
			return nil, nil, fmt.Errorf("%s is not a charter: %v", name, err)
		}
		if len(c.Members) == 0 {
			return nil, nil, fmt.Errorf("%s is not a charter: it lists no members", name)
		}
	}
	policy, err := truce.NewWitnessPolicy(c.Witnesses, c.WitnessPolicy)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: the witness policy: %w", name, err)
	}
	return policy, c.Members, nil
}

// charterStatement reads the charter from a statement's JSON, as signed
// or as drafted before truce sign gave it an id and a time.
func charterStatement(name string, statement []byte) (truce.Charter, error) {
	var st struct {
		Type string          `json:"type"`
		Body json.RawMessage `json:"body"`
	}
	var c truce.Charter
	if err := json.Unmarshal(statement, &st); err != nil {
		return c, fmt.Errorf("%s is not a statement: %v", name, err)
	}
	if st.Type != truce.TypeCharter {
		return c, fmt.Errorf("%s holds a statement of type %s, not a charter", name, st.Type)
	}
	if err := json.Unmarshal(st.Body, &c); err != nil {
		return c, fmt.Errorf("%s: the charter's body: %v", name, err)
	}
	return c, nil
}
