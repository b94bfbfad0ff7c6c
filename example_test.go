package truce_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/truce-mechanism/truce"
)

func ExampleSignStatement() {
	// A fixed key, so that the output is too; a member would load its own
	// with ParsePrivateKey.
	seed := sha256.Sum256([]byte("truce vector m-tr-1"))
	key := ed25519.NewKeyFromSeed(seed[:])

	s := &truce.Statement{
		Type:      truce.TypeWithdraw,
		ID:        "0193c0e1-3400-7c55-9a1d-5e8f3b2a1c03",
		Mechanism: "truce.example/istanbul-2025",
		Author:    "m-tr-1",
		Time:      time.Date(2025, 11, 10, 13, 0, 0, 0, time.UTC),
	}
	env, err := truce.SignStatement(s, &truce.Withdraw{
		Subject: "0193c0e1-1200-7c55-9a1d-5e8f3b2a1c02",
		Reason:  "Sent before the evidence was reviewed.",
	}, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("keyid:", env.Signatures[0].KeyID)

	ok, err := env.Verify(key.Public().(ed25519.PublicKey))
	fmt.Println("verifies:", ok, err)
	// Output:
	// keyid: 6784d6660e6804160553176ab57d8bd681ef1807b4317c211122370d160725da
	// verifies: true <nil>
}

func ExampleParseEntry() {
	data, err := os.ReadFile("testdata/vectors/charter/entry.json")
	if err != nil {
		log.Fatal(err)
	}
	e, err := truce.ParseEntry(data)
	if err != nil {
		log.Fatal(err)
	}
	if e.Problem != nil {
		log.Fatal(e.Problem)
	}
	charter := e.Body.(*truce.Charter)
	fmt.Println(e.Received.Format(truce.ReceivedLayout), e.Statement.Type, charter.Title)

	// Check every signature against the keys the charter lists.
	keys := map[string]ed25519.PublicKey{}
	for _, m := range charter.Members {
		for _, k := range m.Keys {
			pub, err := truce.ParsePublicKey(k)
			if err != nil {
				log.Fatal(err)
			}
			keys[truce.KeyID(pub)] = pub
		}
	}
	signed, err := e.Envelope.VerifyAll(func(id string) (ed25519.PublicKey, bool) {
		pub, ok := keys[id]
		return pub, ok
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range charter.Members {
		pub, _ := truce.ParsePublicKey(m.Keys[0])
		fmt.Printf("%s (%s) signed: %v\n", m.ID, m.Role, signed[truce.KeyID(pub)])
	}
	// Output:
	// 2025-11-07T09:00:01.250Z charter Istanbul monitoring and verification mechanism
	// af-1 (party) signed: true
	// pk-1 (party) signed: true
	// m-tr-1 (mediator) signed: true
	// mon-1 (monitor) signed: false
}

func ExamplePAE() {
	fmt.Printf("%s\n", truce.PAE(truce.PayloadType, []byte(`{"type":"withdraw"}`)))
	// Output:
	// DSSEv1 36 application/vnd.truce.statement+json 19 {"type":"withdraw"}
}

func ExampleEnvelope_Sign() {
	// A statement co-signed by two members; the first signs twice.
	env := &truce.Envelope{PayloadType: truce.PayloadType, Payload: []byte(`{}`)}
	for _, name := range []string{"af-1", "pk-1", "af-1"} {
		seed := sha256.Sum256([]byte("truce vector " + name))
		env.Sign(ed25519.NewKeyFromSeed(seed[:]))
	}
	// Signing again with af-1's key replaced its signature.
	for _, s := range env.Signatures {
		fmt.Println(s.KeyID[:16])
	}
	// Output:
	// 345c3c87d0ada8dc
	// 91e72dd72350f386
}
