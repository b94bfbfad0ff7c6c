package state

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/pubkey"
)

type commitFunc func(index uint64)

// check applies every rule to e against the current state, and returns
// the function that makes its change. It changes nothing itself.
func (s *State) check(e *truce.Entry, verified map[string]bool) (commitFunc, error) {
	st := e.Statement
	if st.Mechanism != s.origin {
		return nil, reject(ErrMalformed, "statement is for mechanism %q, this log is %q", st.Mechanism, s.origin)
	}
	if st.Type == truce.TypeCharter {
		return s.checkCharter(e, e.Body.(*truce.Charter), verified)
	}
	c := s.Charter()
	if c == nil {
		return nil, reject(ErrForbidden, "the mechanism has no charter yet: the first statement must be the charter")
	}
	if st.Type == truce.TypeCharterAmend {
		return s.checkAmend(e, c, e.Body.(*truce.CharterAmend), verified)
	}
	author := c.Member(st.Author)
	if author == nil {
		return nil, reject(ErrForbidden, "%s is not a member of the mechanism", st.Author)
	}
	if err := s.verifySignatures(e.Envelope, author, s.verifier, verified); err != nil {
		return nil, err
	}
	switch b := e.Body.(type) {
	case *truce.IncidentReport:
		return s.checkIncident(e, c, author, b)
	case *truce.ActionReport:
		return s.checkAction(e, c, author, b)
	case *truce.EvidenceAdd:
		return s.checkEvidence(e, author, b)
	case *truce.Reply:
		return s.checkReply(e, author, b)
	case *truce.Assessment:
		return s.checkAssessment(e, c, author, b)
	case *truce.AccessDenied:
		return s.checkAccessDenied(e, c, author, b)
	case *truce.Withdraw:
		return s.checkWithdraw(e, b)
	}
	return nil, reject(ErrMalformed, "statement type %q is not handled", st.Type)
}

// verifySignatures checks that every signature on env is by a known key
// and verifies, and that one of them is the author's.
func (s *State) verifySignatures(env *truce.Envelope, author *truce.Member, keys func(string) (*pubkey.Key, bool), verified map[string]bool) error {
	ok, err := verifyEnvelope(env, keys, verified)
	if err != nil {
		return err
	}
	if !signedBy(ok, author) {
		return reject(ErrSignature, "the envelope carries no signature by %s, its author", author.ID)
	}
	return nil
}

func verifyEnvelope(env *truce.Envelope, keys func(string) (*pubkey.Key, bool), verified map[string]bool) (map[string]bool, error) {
	ok := make(map[string]bool, len(env.Signatures))
	var todo []truce.Signature
	for _, sig := range env.Signatures {
		if _, known := keys(sig.KeyID); !known {
			return nil, reject(ErrSignature, "signature by key %s…, which is not a member key of this mechanism", sig.KeyID[:16])
		}
		if verified[sig.KeyID] {
			ok[sig.KeyID] = true
		} else {
			todo = append(todo, sig)
		}
	}
	var msg []byte
	for _, sig := range todo {
		if msg == nil {
			msg = truce.PAE(env.PayloadType, env.Payload)
		}
		key, _ := keys(sig.KeyID)
		if !key.Verify(msg, sig.Sig) {
			return nil, reject(ErrSignature, "the signature by key %s does not verify", sig.KeyID[:16])
		}
		ok[sig.KeyID] = true
		if verified != nil {
			verified[sig.KeyID] = true
		}
	}
	return ok, nil
}

func signedBy(ok map[string]bool, m *truce.Member) bool {
	for _, k := range m.Keys {
		pub, err := truce.ParsePublicKey(k)
		if err == nil && ok[truce.KeyID(pub)] {
			return true
		}
	}
	return false
}

// needsToSign lists the party and mediator members of members that did
// not sign.
func missingSigners(members []truce.Member, ok map[string]bool) []string {
	var missing []string
	for i := range members {
		m := &members[i]
		if (m.Role == truce.RoleParty || m.Role == truce.RoleMediator) && !signedBy(ok, m) {
			missing = append(missing, m.ID)
		}
	}
	return missing
}

func signers(members []truce.Member, ok map[string]bool) []string {
	var out []string
	for i := range members {
		if signedBy(ok, &members[i]) {
			out = append(out, members[i].ID)
		}
	}
	return out
}

func keyLookup(lists ...[]truce.Member) func(string) (*pubkey.Key, bool) {
	keys := map[string]*pubkey.Key{}
	for _, members := range lists {
		for _, m := range members {
			for _, k := range m.Keys {
				if pub, err := truce.ParsePublicKey(k); err == nil {
					keys[truce.KeyID(pub)] = pubkey.New(pub)
				}
			}
		}
	}
	return func(id string) (*pubkey.Key, bool) {
		k, ok := keys[id]
		return k, ok
	}
}

func (s *State) checkCharter(e *truce.Entry, b *truce.Charter, verified map[string]bool) (commitFunc, error) {
	if c := s.Charter(); c != nil {
		return nil, reject(ErrForbidden, "the mechanism already has a charter (version %d, log index %d); change it with charter.amend", c.Version, c.Index)
	}
	var author *truce.Member
	for i := range b.Members {
		if b.Members[i].ID == e.Statement.Author {
			author = &b.Members[i]
		}
	}
	if author == nil {
		return nil, reject(ErrForbidden, "the charter's author %s is not one of the members it lists", e.Statement.Author)
	}
	ok, err := verifyEnvelope(e.Envelope, keyLookup(b.Members), verified)
	if err != nil {
		return nil, err
	}
	if !signedBy(ok, author) {
		return nil, reject(ErrSignature, "the envelope carries no signature by %s, its author", author.ID)
	}
	if missing := missingSigners(b.Members, ok); len(missing) > 0 {
		return nil, reject(ErrForbidden, "the charter needs the signature of every party and mediator member it lists; missing: %s", strings.Join(missing, ", "))
	}
	return func(index uint64) {
		c := &Charter{
			Version: 1, Index: index, StatementID: e.Statement.ID, Received: e.Received,
			Title: b.Title, Parties: b.Parties, Members: b.Members, Clauses: b.Clauses, Rules: b.Rules,
			Languages: b.Languages, Witnesses: b.Witnesses, WitnessPolicy: b.WitnessPolicy,
			Signers: signers(b.Members, ok),
		}
		s.addCharter(c)
	}, nil
}

func (s *State) addCharter(c *Charter) {
	s.charters = append(s.charters, c)
	s.indexKeys(c)
	s.changes.Charters = append(s.changes.Charters, c)
}

func (s *State) checkAmend(e *truce.Entry, c *Charter, b *truce.CharterAmend, verified map[string]bool) (commitFunc, error) {
	author := c.Member(e.Statement.Author)
	if author == nil {
		return nil, reject(ErrForbidden, "%s is not a member of the mechanism", e.Statement.Author)
	}
	if author.Role != truce.RoleParty && author.Role != truce.RoleMediator {
		return nil, reject(ErrForbidden, "only party and mediator members may propose a charter amendment; %s is a %s", author.ID, author.Role)
	}
	if b.Version != c.Version+1 {
		return nil, reject(ErrConflict, "the amendment makes version %d, but the charter is at version %d: an amendment must make version %d", b.Version, c.Version, c.Version+1)
	}
	if err := b.CheckMembers(c.Parties); err != nil {
		return nil, err
	}
	// Co-signatures may come from current members and from members the
	// amendment adds.
	ok, err := verifyEnvelope(e.Envelope, keyLookup(c.Members, b.Members), verified)
	if err != nil {
		return nil, err
	}
	if !signedBy(ok, author) {
		return nil, reject(ErrSignature, "the envelope carries no signature by %s, its author", author.ID)
	}
	if missing := missingSigners(c.Members, ok); len(missing) > 0 {
		return nil, reject(ErrForbidden, "a charter amendment needs the signature of every current party and mediator member; missing: %s", strings.Join(missing, ", "))
	}
	return func(index uint64) {
		n := *c
		n.Version, n.Index, n.StatementID, n.Received = b.Version, index, e.Statement.ID, e.Received
		n.Members, n.Clauses, n.Rules = b.Members, b.Clauses, b.Rules
		if b.Title != "" {
			n.Title = b.Title
		}
		if b.Languages != nil {
			n.Languages = b.Languages
		}
		if b.Witnesses != nil {
			n.Witnesses, n.WitnessPolicy = b.Witnesses, b.WitnessPolicy
		}
		n.Signers = signers(c.Members, ok)
		s.addCharter(&n)
		s.changes.compliance = true // clauses and their consequences may have changed
		// New rules and roles apply to every question still undecided.
		for _, sub := range s.Subjects() {
			if sub.WindowClosedAt != nil && sub.Withdrawn == nil {
				s.evaluate(sub, index)
			}
		}
	}, nil
}

func (s *State) checkParty(field, id string, c *Charter, allowUnknown bool) error {
	if allowUnknown && id == truce.OriginUnknown {
		return nil
	}
	if !c.HasParty(id) {
		return &truce.FieldError{Field: "body." + field, Problem: fmt.Sprintf("%q is not one of the charter's parties (%s)", id, partyIDs(c))}
	}
	return nil
}

func partyIDs(c *Charter) string {
	ids := make([]string, len(c.Parties))
	for i, p := range c.Parties {
		ids[i] = p.ID
	}
	return strings.Join(ids, ", ")
}

func checkClause(field, id string, c *Charter) error {
	if c.Clause(id) == nil {
		ids := make([]string, len(c.Clauses))
		for i, cl := range c.Clauses {
			ids[i] = cl.ID
		}
		return &truce.FieldError{Field: "body." + field, Problem: fmt.Sprintf("%q is not a clause of the charter (%s)", id, strings.Join(ids, ", "))}
	}
	return nil
}

func (s *State) checkIncident(e *truce.Entry, c *Charter, author *truce.Member, b *truce.IncidentReport) (commitFunc, error) {
	if err := s.checkParty("alleged_origin", b.AllegedOrigin, c, true); err != nil {
		return nil, err
	}
	if err := s.checkParty("against", b.Against, c, false); err != nil {
		return nil, err
	}
	if b.AllegedOrigin == b.Against {
		return nil, &truce.FieldError{Field: "body.against", Problem: "is the same party as alleged_origin: an incident is alleged against another party"}
	}
	for i, cl := range b.Clauses {
		if err := checkClause(fmt.Sprintf("clauses[%d]", i), cl, c); err != nil {
			return nil, err
		}
	}
	interested := []string{}
	for _, p := range []string{author.Party, b.AllegedOrigin, b.Against} {
		if p != "" && p != truce.OriginUnknown && !slices.Contains(interested, p) {
			interested = append(interested, p)
		}
	}
	return s.openSubject(e, c, author, "incident", interested, truce.IncidentQuestions), nil
}

func (s *State) checkAction(e *truce.Entry, c *Charter, author *truce.Member, b *truce.ActionReport) (commitFunc, error) {
	if author.Role != truce.RoleParty {
		return nil, reject(ErrForbidden, "only a party member may report a compliance action; %s is a %s", author.ID, author.Role)
	}
	if err := checkClause("clause", b.Clause, c); err != nil {
		return nil, err
	}
	return s.openSubject(e, c, author, "action", []string{author.Party}, truce.ActionQuestions), nil
}

func (s *State) openSubject(e *truce.Entry, c *Charter, author *truce.Member, kind string, interested, questions []string) commitFunc {
	return func(index uint64) {
		sub := &Subject{
			ID: e.Statement.ID, Kind: kind, Index: index, Received: e.Received,
			Author: author.ID, Party: author.Party, Statement: e.Envelope.Payload,
			Interested: interested,
			Deadline:   s.clock.Add(c.Rules.Window()),
			Questions:  map[string]*Question{},
			Evidence:   []EvidenceRecord{},
			Replies:    []ReplyRecord{},
			report:     e.Body,
		}
		for _, q := range questions {
			sub.Questions[q] = &Question{Status: StatusAwaitingReply, Votes: []Vote{}}
		}
		s.subjects[sub.ID] = sub
		heap.Push(&s.windows, windowItem{sub.Deadline, index, sub.ID})
		s.touch(sub)
	}
}

// liveSubject finds a subject that can still take statements.
func (s *State) liveSubject(id string) (*Subject, error) {
	sub := s.subjects[id]
	if sub == nil {
		if i, ok := s.ids[id]; ok {
			return nil, reject(ErrUnknownSubject, "%s (log index %d) is not an incident or action report", id, i)
		}
		return nil, reject(ErrUnknownSubject, "no incident or action with id %s", id)
	}
	if sub.Withdrawn != nil {
		return nil, reject(ErrForbidden, "%s was withdrawn at log index %d and takes no more statements", id, sub.Withdrawn.Index)
	}
	return sub, nil
}

func (s *State) checkEvidence(e *truce.Entry, author *truce.Member, b *truce.EvidenceAdd) (commitFunc, error) {
	sub, err := s.liveSubject(b.Subject)
	if err != nil {
		return nil, err
	}
	if size, ok := s.evidence[b.SHA256]; ok && size != b.Size {
		return nil, &truce.FieldError{Field: "body.size", Problem: fmt.Sprintf("is %d, but the file with this sha256 was recorded with size %d", b.Size, size)}
	}
	return func(index uint64) {
		s.evidence[b.SHA256] = b.Size
		sub.Evidence = append(sub.Evidence, EvidenceRecord{
			Index: index, StatementID: e.Statement.ID, Author: author.ID, Received: e.Received,
			SHA256: b.SHA256, Size: b.Size, MediaType: b.MediaType, Name: b.Name,
			CapturedAt: b.CapturedAt, Description: b.Description,
		})
		s.touch(sub)
	}, nil
}

func (s *State) checkReply(e *truce.Entry, author *truce.Member, b *truce.Reply) (commitFunc, error) {
	sub, err := s.liveSubject(b.Subject)
	if err != nil {
		return nil, err
	}
	if author.Role != truce.RoleParty || !sub.interested(author.Party) {
		return nil, reject(ErrForbidden, "only a member of an interested party (%s) may reply to %s; %s is not", strings.Join(sub.Interested, ", "), sub.ID, author.ID)
	}
	for i, q := range b.Contests {
		if sub.Questions[q] == nil {
			return nil, &truce.FieldError{Field: fmt.Sprintf("body.contests[%d]", i), Problem: fmt.Sprintf("%q is not a question of an %s", q, sub.Kind)}
		}
	}
	return func(index uint64) {
		late := sub.WindowClosedAt != nil
		sub.Replies = append(sub.Replies, ReplyRecord{
			Index: index, StatementID: e.Statement.ID, Author: author.ID, Party: author.Party,
			Received: e.Received, Text: b.Text, Contests: b.Contests, Late: late,
		})
		if !late && !slices.Contains(sub.Replied, author.Party) {
			sub.Replied = append(sub.Replied, author.Party)
			if len(sub.Replied) == len(sub.Interested) {
				i := index
				sub.WindowClosedAt = &i
				s.evaluate(sub, index)
			}
		}
		s.touch(sub)
	}, nil
}

func (s *State) checkAssessment(e *truce.Entry, c *Charter, author *truce.Member, b *truce.Assessment) (commitFunc, error) {
	sub, err := s.liveSubject(b.Subject)
	if err != nil {
		return nil, err
	}
	q := sub.Questions[b.Question]
	if q == nil {
		return nil, &truce.FieldError{Field: "body.question", Problem: fmt.Sprintf("%q is not a question of an %s", b.Question, sub.Kind)}
	}
	if q.Status == StatusDecided {
		return nil, reject(ErrConflict, "already decided: %s of %s was decided (%s) at log index %d", b.Question, sub.ID, q.Answer, *q.DecidedAt)
	}
	switch b.Question {
	case truce.QuestionOrigin:
		if b.Answer != truce.AnswerNotAttributable && b.Answer != truce.AnswerInconclusive && !c.HasParty(b.Answer) {
			return nil, &truce.FieldError{Field: "body.answer", Problem: fmt.Sprintf("%q is not a party id (%s), not_attributable or inconclusive", b.Answer, partyIDs(c))}
		}
	case truce.QuestionDuplicateOf:
		if b.Answer != truce.AnswerNone {
			other := s.subjects[b.Answer]
			if other == nil || other.Kind != "incident" || other.ID == sub.ID {
				return nil, &truce.FieldError{Field: "body.answer", Problem: fmt.Sprintf("%q is neither another incident's id nor none", b.Answer)}
			}
		}
	}
	return func(index uint64) {
		v := Vote{Member: author.ID, Answer: b.Answer, Severity: b.Severity, Rationale: b.Rationale, Index: index, StatementID: e.Statement.ID}
		for i := range q.Votes {
			if q.Votes[i].Member == author.ID {
				v.Replaced = append(q.Votes[i].Replaced, q.Votes[i].Index)
				q.Votes = slices.Delete(q.Votes, i, i+1)
				break
			}
		}
		q.Votes = append(q.Votes, v)
		s.evaluateQuestion(sub, q, b.Question, index)
		s.touch(sub)
	}, nil
}

func (s *State) checkAccessDenied(e *truce.Entry, c *Charter, author *truce.Member, b *truce.AccessDenied) (commitFunc, error) {
	if author.Role != truce.RoleMonitor && author.Role != truce.RoleMediator {
		return nil, reject(ErrForbidden, "only a monitor or mediator may record a denial of access; %s is a %s", author.ID, author.Role)
	}
	if err := s.checkParty("party", b.Party, c, false); err != nil {
		return nil, err
	}
	if b.Subject != "" {
		if _, err := s.liveSubject(b.Subject); err != nil {
			return nil, err
		}
	}
	return func(index uint64) {
		d := &AccessDenial{
			Index: index, StatementID: e.Statement.ID, Author: author.ID, Received: e.Received,
			Party: b.Party, Subject: b.Subject, Place: b.Place, At: b.At, Description: b.Description,
		}
		s.denials = append(s.denials, d)
		s.changes.AccessDenials = append(s.changes.AccessDenials, d)
		s.changes.compliance = true
	}, nil
}

func (s *State) checkWithdraw(e *truce.Entry, b *truce.Withdraw) (commitFunc, error) {
	sub, err := s.liveSubject(b.Subject)
	if err != nil {
		return nil, err
	}
	if sub.Author != e.Statement.Author {
		return nil, reject(ErrForbidden, "only %s, who reported %s, may withdraw it", sub.Author, sub.ID)
	}
	return func(index uint64) {
		sub.Withdrawn = &WithdrawRecord{Index: index, StatementID: e.Statement.ID, Reason: b.Reason}
		for _, q := range sub.Questions {
			if q.Status != StatusDecided {
				q.Status = StatusWithdrawn
			}
		}
		s.touch(sub)
		s.changes.compliance = true
	}, nil
}
