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
		return fmt.Errorf("%s: %w", *keyFile, err)
	}
	in, name, err := readInput(e, fs.Args())
	if err != nil {
		return err
	}
	var probe struct {
		PayloadType *string `json:"payloadType"`
	}
	if err := json.Unmarshal(in, &probe); err != nil {
		return fmt.Errorf("%s is not JSON: %v", name, err)
	}
	var env *truce.Envelope
	if probe.PayloadType != nil {
		// Co-sign an envelope.
		env, err = truce.ParseEnvelope(in)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	} else {
		payload, err := completeStatement(in)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		env = &truce.Envelope{PayloadType: truce.PayloadType, Payload: payload}
	}
	st, _, err := truce.ParseStatement(env.Payload)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", name, err), "fix the statement and sign again; nothing was signed")
	}
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
	fmt.Fprintf(e.stderr, "signed %s %s by %s with key %s (%d signatures)\n", st.Type, st.ID, st.Author, truce.KeyID(key.Public().(ed25519.PublicKey))[:16], len(env.Signatures))
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
	if m["time"] == nil || m["time"] == "" {
		m["time"] = time.Now().UTC().Format(time.RFC3339)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}
