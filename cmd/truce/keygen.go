package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/truce-mechanism/truce"
)

func runKeygen(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "keygen", "keygen --out FILE")
	out := fs.String("out", "", "the private key file to write (PEM PKCS#8, mode 0600)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return withHint(errors.New("--out is required"), "truce keygen --out me.pem")
	}
	key, err := truce.GenerateKey(nil)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return withHint(fmt.Errorf("%s already exists", *out), "keygen never overwrites a key; choose another file name")
		}
		return fmt.Errorf("cannot write key: %w", err)
	}
	if _, err := f.Write(truce.MarshalPrivateKey(key)); err != nil {
		f.Close()
		return fmt.Errorf("cannot write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write key: %w", err)
	}
	pub := key.Public().(ed25519.PublicKey)
	fmt.Fprintf(e.stdout, "public key: %s\nkeyid: %s\n", truce.EncodePublicKey(pub), truce.KeyID(pub))
	return nil
}
