package truce

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// Statement types.
const (
	TypeCharter      = "charter"
	TypeCharterAmend = "charter.amend"
	TypeIncident     = "incident.report"
	TypeAction       = "action.report"
	TypeEvidence     = "evidence.add"
	TypeReply        = "reply"
	TypeAssessment   = "assessment"
	TypeAccessDenied = "access.denied"
	TypeWithdraw     = "withdraw"
)

// Types lists every statement type, in the order SPEC.md gives them.
var Types = []string{TypeCharter, TypeCharterAmend, TypeIncident, TypeAction, TypeEvidence, TypeReply, TypeAssessment, TypeAccessDenied, TypeWithdraw}

// Statement is the signed content of an envelope.
type Statement struct {
	// Type is one of the Type constants.
	Type string `json:"type"`
	// ID is chosen by the author (UUIDv7 recommended) and unique in the mechanism.
	ID string `json:"id"`
	// Mechanism is the log's origin line.
	Mechanism string `json:"mechanism"`
	// Author is the member id of the statement's author.
	Author string `json:"author"`
	// Time is when the author says it made the statement. The mechanism's
	// clock is the log's receive time, never this.
	Time time.Time `json:"time"`
	// Body is the type's body, as signed.
	Body json.RawMessage `json:"body"`
}

// ParseStatement decodes and checks a statement: the envelope fields, then
// the body of its type. The returned body is a pointer to the type's body
// struct (*Charter, *IncidentReport, ...).
func ParseStatement(payload []byte) (*Statement, any, error) {
	s, body, ok := decodeTyped(payload)
	if !ok {
		// The two-step decoding below accepts exactly what decodeTyped
		// does, and says precisely what is wrong with what it does not.
		var err error
		if s, body, err = decodeUntyped(payload); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range []struct{ name, v string }{{"type", s.Type}, {"id", s.ID}, {"mechanism", s.Mechanism}, {"author", s.Author}} {
		if f.v == "" {
			return nil, nil, &FieldError{Field: f.name, Problem: "is required"}
		}
	}
	if len(s.ID) > 128 {
		return nil, nil, &FieldError{Field: "id", Problem: "is longer than 128 characters"}
	}
	if s.Time.IsZero() {
		return nil, nil, &FieldError{Field: "time", Problem: "is required (RFC 3339, e.g. 2025-11-07T10:00:00Z)"}
	}
	if err := body.check(); err != nil {
		return nil, nil, err
	}
	return s, body, nil
}

// decodeUntyped decodes the statement, then its body by its type.
func decodeUntyped(payload []byte) (*Statement, body, error) {
	var s Statement
	if err := strictDecode(payload, &s); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, nil, fe
		}
		return nil, nil, malformed("statement: %s", err)
	}
	if s.Type == "" {
		return nil, nil, &FieldError{Field: "type", Problem: "is required"}
	}
	if len(s.Body) == 0 || bytes.Equal(s.Body, []byte("null")) {
		return nil, nil, &FieldError{Field: "body", Problem: "is required"}
	}
	b, err := newBody(s.Type)
	if err != nil {
		return nil, nil, err
	}
	if err := strictDecode(s.Body, b); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, nil, &FieldError{Field: "body." + fe.Field, Problem: fe.Problem}
		}
		return nil, nil, malformed("body of %s: %s", s.Type, err)
	}
	return &s, b, nil
}

// typedStatement is a statement with its body's type known, so that it is
// decoded in one pass.
type typedStatement[B any] struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Mechanism string    `json:"mechanism"`
	Author    string    `json:"author"`
	Time      time.Time `json:"time"`
	Body      *B        `json:"body"`
}

// decodeTyped decodes a well-formed statement in one pass, after finding
// its type; ok is false for anything it cannot take, which decodeUntyped
// then explains.
func decodeTyped(payload []byte) (*Statement, body, bool) {
	typ, span := statementType(payload)
	switch typ {
	case TypeCharter:
		return decodeAs[Charter](payload, span)
	case TypeCharterAmend:
		return decodeAs[CharterAmend](payload, span)
	case TypeIncident:
		return decodeAs[IncidentReport](payload, span)
	case TypeAction:
		return decodeAs[ActionReport](payload, span)
	case TypeEvidence:
		return decodeAs[EvidenceAdd](payload, span)
	case TypeReply:
		return decodeAs[Reply](payload, span)
	case TypeAssessment:
		return decodeAs[Assessment](payload, span)
	case TypeAccessDenied:
		return decodeAs[AccessDenied](payload, span)
	case TypeWithdraw:
		return decodeAs[Withdraw](payload, span)
	}
	return nil, nil, false
}

func decodeAs[B any, P interface {
	*B
	body
}](payload []byte, span [2]int) (*Statement, body, bool) {
	var t typedStatement[B]
	if err := strictDecode(payload, &t); err != nil || t.Body == nil {
		return nil, nil, false
	}
	return &Statement{Type: t.Type, ID: t.ID, Mechanism: t.Mechanism, Author: t.Author, Time: t.Time, Body: payload[span[0]:span[1]]}, P(t.Body), true
}

// statementType finds a statement's top-level type and the span of its
// body, without decoding it.
func statementType(payload []byte) (typ string, body [2]int) {
	s := nameScanner{data: payload}
	if s.peek() != '{' {
		return "", body
	}
	s.i++
	for {
		c := s.peek()
		if c == ',' {
			s.i++
			c = s.peek()
		}
		if c != '"' {
			return typ, body
		}
		name, _ := s.str()
		if s.peek() != ':' {
			return "", body
		}
		s.i++
		start := s.i
		if name == "type" && s.peek() == '"' {
			v, escaped := s.str()
			if !escaped {
				typ = v
			}
			continue
		}
		if s.value(nil, "", false) != nil {
			return "", body
		}
		if name == "body" {
			body = [2]int{start, s.i}
		}
	}
}

// NewEnvelope encodes a statement as the payload of an unsigned envelope.
func NewEnvelope(s *Statement) (*Envelope, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("cannot encode statement: %w", err)
	}
	return &Envelope{PayloadType: PayloadType, Payload: payload}, nil
}

// SignStatement encodes a statement with the given body and signs it with key.
func SignStatement(s *Statement, body any, key ed25519.PrivateKey) (*Envelope, error) {
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("cannot encode body: %w", err)
		}
		s.Body = b
	}
	env, err := NewEnvelope(s)
	if err != nil {
		return nil, err
	}
	env.Sign(key)
	return env, nil
}

// FieldError names a statement field that is missing or wrong. Field is a
// dotted path from the statement's root, such as body.location.lat.
type FieldError struct {
	// Field is the dotted path of the field.
	Field string
	// Problem says what is wrong with it.
	Problem string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

// Unwrap makes every FieldError match ErrMalformed.
func (e *FieldError) Unwrap() error { return ErrMalformed }

// SubjectOf returns the id of the incident or action that a statement is
// about: its own id for a report, its body's subject for the statements
// about one, and "" for the rest (charters, access denials without one).
func SubjectOf(st *Statement, body any) string {
	switch b := body.(type) {
	case *IncidentReport, *ActionReport:
		return st.ID
	case *EvidenceAdd:
		return b.Subject
	case *Reply:
		return b.Subject
	case *Assessment:
		return b.Subject
	case *AccessDenied:
		return b.Subject
	case *Withdraw:
		return b.Subject
	}
	return ""
}

// strictDecode decodes one JSON value into v, refusing unknown fields,
// names spelled otherwise than the field's, and duplicate names. A value
// of the wrong JSON type is a *FieldError.
func strictDecode(data []byte, v any) error {
	// exactNames refuses unknown fields as well as misspelled and repeated
	// ones, so json.Unmarshal, which reads the data in place, suffices.
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &FieldError{Field: te.Field, Problem: fmt.Sprintf("must be %s, not a JSON %s", jsonKind(te.Type.Kind().String()), te.Value)}
		}
		return fmt.Errorf("%s", jsonProblem(err))
	}
	return exactNames(data, reflect.TypeOf(v))
}
