package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/truce-mechanism/truce"
)

func runSign(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "sign", "sign --key FILE [--out FILE] [FILE]")
	keyFile := fs.String("key", "", "the signer's private key file (from truce keygen)")
	out := fs.String("out", "", "where to write the signed envelope (default: standard output)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keyFile == "" {
		return withHint(errors.New("--key is required"), "truce sign --key me.pem statement.json")
	}
	pem, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("cannot read key: %w", err)
	}
	key, err := truce.ParsePrivateKey(pem)
	if err != nil {
		return withHint(fmt.Errorf("%s is not a member key: %s", *keyFile, problem(err)),
			"a member key is a PEM PKCS#8 Ed25519 private key: make one with truce keygen --out me.pem (or openssl genpkey -algorithm ed25519)")
	}
	in, name, err := readInput(e, fs.Args())
	if err != nil {
		return err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(in, &probe); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s is a JSON %s, not a statement or an envelope (a JSON object)", name, te.Value)
		}
		return fmt.Errorf("%s is not JSON: %v", name, err)
	}
	var env *truce.Envelope
	_, cosign := probe["payloadType"]
	if cosign {
		// Co-sign an envelope.
		env, err = truce.ParseEnvelope(in)
		if err != nil {
			return fmt.Errorf("%s: %s", name, problem(err))
		}
	} else {
		payload, err := completeStatement(in)
		if err != nil {
			return withHint(fmt.Errorf("%s: %s", name, problem(err)), "fix the statement and sign again; nothing was signed")
		}
		env = &truce.Envelope{PayloadType: truce.PayloadType, Payload: payload}
	}
	st, _, err := truce.ParseStatement(env.Payload)
	if err != nil {
		return withHint(fmt.Errorf("%s: %s", name, problem(err)), "fix the statement and sign again; nothing was signed")
	}
	before := len(env.Signatures)
	env.Sign(key)
	b, err := env.MarshalJSON()
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out == "" {
		_, err = e.stdout.Write(b)
	} else {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		return fmt.Errorf("cannot write envelope: %w", err)
	}
	verb, note := "signed", ""
	switch {
	case len(env.Signatures) == before:
		verb, note = "signed again", "this key's earlier signature replaced; "
	case cosign:
		verb = "co-signed"
	}
	fmt.Fprintf(e.stderr, "%s %s %s (author %s) with key %s (%s%s)\n", verb, st.Type, st.ID, st.Author,
		truce.KeyID(key.Public().(ed25519.PublicKey))[:16], note, plural(len(env.Signatures), "signature"))
	return nil
}

// readInput reads the one file argument, or standard input.
func readInput(e *env, args []string) ([]byte, string, error) {
	switch len(args) {
	case 0:
		b, err := io.ReadAll(e.stdin)
		return b, "standard input", err
	case 1:
		b, err := os.ReadFile(args[0])
		if err != nil {
			return nil, "", fmt.Errorf("cannot read statement: %w", err)
		}
		return b, args[0], nil
	}
	return nil, "", withHint(errors.New("give one statement file"), "truce sign --key me.pem statement.json > envelope.json")
}

// completeStatement fills in a statement's id (a new UUIDv7) and time
// (now) when they are missing, keeping every other byte's meaning.
func completeStatement(in []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(in))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("statement is not a JSON object: %v", err)
	}
	if m["id"] == nil || m["id"] == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		m["id"] = id.String()
	}
	switch t := m["time"].(type) {
	case nil:
		m["time"] = time.Now().UTC().Format(time.RFC3339)
	case string:
		if t == "" {
			m["time"] = time.Now().UTC().Format(time.RFC3339)
		} else if _, err := time.Parse(time.RFC3339, t); err != nil {
			// ParseStatement would say it in Go's layout language.
			return nil, &truce.FieldError{Field: "time", Problem: fmt.Sprintf("%q is not an RFC 3339 time such as 2025-11-07T10:00:00Z (leave it out for now)", t)}
		}
	default:
		return nil, &truce.FieldError{Field: "time", Problem: "must be a string: an RFC 3339 time such as 2025-11-07T10:00:00Z (leave it out for now)"}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}

// plural gives n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// problem is err's message without the "malformed: " that the truce
// package puts before every error about input: users know it is theirs.
func problem(err error) string {
	return strings.TrimPrefix(err.Error(), truce.ErrMalformed.Error()+": ")
}
