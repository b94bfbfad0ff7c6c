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

const verifyReceiptUsage = "verify-receipt --log-key KEY [--charter FILE]... RECEIPT..."

func runVerifyReceipt(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "verify-receipt", verifyReceiptUsage)
	key := fs.String("log-key", "", "the log's signed-note verifier key, from a source you trust (not the server)")
	var charterFiles []string
	fs.Func("charter", "the charter, for its witnesses, witness policy and member keys: the JSON that GET /v1/charter answers, "+
		"or the charter's signed envelope (as truce sign writes it), or its statement; given more than once, one file per charter version, "+
		"and each receipt is checked with the version in force at its checkpoint; without it, neither the witnesses nor the author's signature are checked",
		func(name string) error { charterFiles = append(charterFiles, name); return nil })
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
	var charters charterSet
	for _, name := range charterFiles {
		if err := charters.read(name); err != nil {
			return withHint(err, "give the JSON that GET /v1/charter answers, or the charter's signed envelope")
		}
	}
	failed := 0
	var last error
	var lastCharter *charterChoice
	for i, name := range fs.Args() {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		v, c, err := verifyReceiptFile(name, logKey, &charters)
		if err != nil {
			failed++
			last, lastCharter = err, c
			fmt.Fprintf(e.stdout, "%s: does not verify: %v\n", name, err)
			continue
		}
		printReceipt(e.stdout, name, v, c)
	}
	switch {
	case failed == 0:
		return nil
	case len(fs.Args()) == 1:
		return receiptHint(last, logKey, lastCharter)
	}
	return fmt.Errorf("%d of %d receipts do not verify", failed, len(fs.Args()))
}

// verifyReceiptFile verifies a receipt with the charter version in force
// at its checkpoint, and returns that choice; nil when no charter was
// given.
func verifyReceiptFile(name string, logKey note.Verifier, charters *charterSet) (*truce.VerifiedReceipt, *charterChoice, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read receipt: %w", err)
	}
	r, err := truce.ParseReceipt(data)
	if err != nil {
		return nil, nil, err
	}
	if len(charters.versions) == 0 {
		v, err := r.Verify(logKey, nil, nil)
		return v, nil, err
	}
	// The checkpoint's size picks the charter version; a checkpoint that
	// does not open fails Verify below with the reason.
	var size int64
	if cp, err := truce.OpenCheckpoint(r.Checkpoint, logKey, nil); err == nil {
		size = cp.Size
	}
	c := charters.forSize(uint64(size))
	v, err := r.Verify(logKey, c.policy, c.members)
	return v, c, err
}

// receiptHint explains the usual causes of a receipt that fails.
func receiptHint(err error, logKey note.Verifier, c *charterChoice) error {
	switch {
	case errors.Is(err, truce.ErrNotWitnessed):
		return withHint(err, "the checkpoint lacks cosignatures that %s asks for: fetch a newer receipt once the witnesses have cosigned", c.used())
	case errors.Is(err, truce.ErrCheckpoint):
		return withHint(err, "is --log-key the key of the log that issued this receipt (%s)? and is the file as the server gave it?", logKey.Name())
	case errors.Is(err, truce.ErrNotIncluded), errors.Is(err, truce.ErrReceipt):
		return withHint(err, "the file was altered, or was not made by a truce server: fetch it again with truce receipt")
	}
	return err
}

// printReceipt writes what a verified receipt proves, for people.
func printReceipt(w io.Writer, name string, v *truce.VerifiedReceipt, c *charterChoice) {
	cp := v.Checkpoint
	fmt.Fprintf(w, "%s: verified\n", name)
	fmt.Fprintf(w, "  index        %d\n", v.Index)
	fmt.Fprintf(w, "  log          %s, checkpoint of size %d signed by the log key\n", cp.Origin, cp.Size)
	if c != nil {
		fmt.Fprintf(w, "  charter      %s\n", c)
	}
	var policy *truce.WitnessPolicy
	if c != nil {
		policy = c.policy
	}
	switch {
	case c == nil:
		fmt.Fprintf(w, "  witnesses    NOT CHECKED: give --charter to check the witnesses' cosignatures\n")
	case !v.WitnessesChecked:
		fmt.Fprintf(w, "  witnesses    NOT CHECKED: give charter version %d with --charter as well to check them (the server serves it at /v1/charter/%d)\n", c.inForce, c.inForce)
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
	if s := truce.SubjectOf(st, e.Body); s != "" {
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

// charterSet is the charter versions given with --charter, and the
// charter's history if a file from GET /v1/charter gave it.
type charterSet struct {
	versions []*charterVersion
	history  []charterEntry // from the GET /v1/charter with the latest version
	latest   int            // the version that history came with
}

// charterVersion is one charter version read from a file.
type charterVersion struct {
	file    string
	version int // 0 if the file does not say
	policy  *truce.WitnessPolicy
	members []truce.Member
}

// charterEntry is one version of the history GET /v1/charter gives: the
// log index of the statement that made it.
type charterEntry struct {
	Version int    `json:"version"`
	Index   uint64 `json:"index"`
}

// charterChoice is the charter version a receipt is checked with.
type charterChoice struct {
	*charterVersion
	// inForce is the version in force at the checkpoint, by the history,
	// and index the log index of the entry that made it; inForce is 0
	// when no history was given, or no version is in force.
	inForce int
	index   uint64
	// known says whether the history was given.
	known bool
}

// forSize picks the charter version for a checkpoint of size entries. The
// rule is the one the server publishes by: the witness policy of a
// checkpoint of size n is that of the latest charter version among
// entries [0, n). Without a history, the one version given is used (the
// latest, of several), and the output says that it was not chosen by the
// checkpoint. When the history names a version that no file holds, the
// witnesses are not checked (the policy is nil) and the author is checked
// with the latest version given.
func (cs *charterSet) forSize(size uint64) *charterChoice {
	latest := cs.versions[0]
	for _, v := range cs.versions {
		if v.version > latest.version {
			latest = v
		}
	}
	if cs.history == nil {
		return &charterChoice{charterVersion: latest}
	}
	c := &charterChoice{known: true}
	for _, h := range cs.history {
		if h.Index < size {
			c.inForce, c.index = h.Version, h.Index
		}
	}
	if c.inForce == 0 {
		// Before any charter, no witnesses are needed, and there are no
		// members to check the author with.
		none, _ := truce.NewWitnessPolicy(nil, nil)
		c.charterVersion = &charterVersion{policy: none}
		return c
	}
	for _, v := range cs.versions {
		if v.version == c.inForce {
			c.charterVersion = v
			return c
		}
	}
	c.charterVersion = &charterVersion{file: latest.file, version: latest.version, members: latest.members}
	return c
}

// String says which charter version was used, for the output.
func (c *charterChoice) String() string {
	switch {
	case !c.known && c.version == 0:
		return fmt.Sprintf("as in %s (its version and log index not given, so not chosen by the checkpoint)", c.file)
	case !c.known:
		return fmt.Sprintf("version %d, from %s (its log index not given, so not chosen by the checkpoint)", c.version, c.file)
	case c.inForce == 0:
		return "none in force at the checkpoint"
	case c.policy == nil:
		return fmt.Sprintf("version %d (log entry %d) in force at the checkpoint, not given; members from version %d, %s", c.inForce, c.index, c.version, c.file)
	}
	return fmt.Sprintf("version %d (log entry %d), in force at the checkpoint, from %s", c.version, c.index, c.file)
}

// used names the charter version whose policy was checked, for a hint.
func (c *charterChoice) used() string {
	if c == nil || c.version == 0 {
		return "the charter"
	}
	return fmt.Sprintf("charter version %d", c.version)
}

// read reads a charter file: the JSON of GET /v1/charter, a signed charter
// envelope, or a charter statement, whose version is 1: a charter
// statement makes the first version, and amendments later ones.
func (cs *charterSet) read(name string) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("cannot read charter: %w", err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("%s is not JSON: %v", name, err)
	}
	var c truce.Charter
	v := &charterVersion{file: name}
	switch {
	case probe["payloadType"] != nil:
		env, err := truce.ParseEnvelope(data)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if c, err = charterStatement(name, env.Payload); err != nil {
			return err
		}
		v.version = 1
	case probe["type"] != nil && probe["body"] != nil:
		if c, err = charterStatement(name, data); err != nil {
			return err
		}
		v.version = 1
	default:
		// GET /v1/charter: the charter's fields at the top, with the
		// version, its log index and the history of versions.
		var history []charterEntry
		d := json.NewDecoder(bytes.NewReader(data))
		if err := d.Decode(&struct {
			Version       *int             `json:"version"`
			History       *[]charterEntry  `json:"history"`
			Members       *[]truce.Member  `json:"members"`
			Witnesses     *[]truce.Witness `json:"witnesses"`
			WitnessPolicy *json.RawMessage `json:"witness_policy"`
		}{&v.version, &history, &c.Members, &c.Witnesses, &c.WitnessPolicy}); err != nil {
			return fmt.Errorf("%s is not a charter: %v", name, err)
		}
		if len(c.Members) == 0 {
			return fmt.Errorf("%s is not a charter: it lists no members", name)
		}
		if history != nil && v.version >= cs.latest {
			cs.history, cs.latest = history, v.version
		}
	}
	if v.policy, err = truce.NewWitnessPolicy(c.Witnesses, c.WitnessPolicy); err != nil {
		return fmt.Errorf("%s: the witness policy: %w", name, err)
	}
	v.members = c.Members
	for _, o := range cs.versions {
		if o.version != 0 && o.version == v.version {
			return fmt.Errorf("%s and %s are both charter version %d", o.file, name, v.version)
		}
	}
	cs.versions = append(cs.versions, v)
	return nil
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
