package remote

import (
	"testing"
)

// FuzzParseServerMessage feeds arbitrary bytes to the decoder of the
// server's messages, and what it accepts to the client's state: nothing
// a server sends may panic the client.
func FuzzParseServerMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"Ping"}`,
		`{"type":"Transition","startVersion":{"querySet":0,"ts":"AAAAAAAAAAA=","identity":0},"endVersion":{"querySet":1,"ts":"AQAAAAAAAAA=","identity":0},"modifications":[{"type":"QueryUpdated","queryId":1,"value":{"$integer":"BwAAAAAAAAA="},"logLines":[],"journal":null}]}`,
		`{"type":"Transition","startVersion":{"querySet":0,"ts":"AAAAAAAAAAA=","identity":0},"endVersion":{"querySet":1,"ts":"AQAAAAAAAAA=","identity":0},"modifications":[{"type":"QueryFailed","queryId":2,"errorMessage":"Could not find public function for 'x'","journal":"[\"c\"]"},{"type":"QueryRemoved","queryId":1}]}`,
		`{"type":"MutationResponse","requestId":1,"success":true,"result":{"$bytes":"AAE="},"ts":"AQAAAAAAAAA=","logLines":[]}`,
		`{"type":"MutationResponse","requestId":1,"success":false,"result":"no"}`,
		`{"type":"AuthError","error":"bad token","baseVersion":0}`,
		`{"type":"FatalError","error":"bye"}`,
		`{"type":"Transition","modifications":[{}]}`,
		`[1,2,3]`, `null`, `{"type":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseServerMessage(b)
		if err != nil {
			if m != nil {
				t.Fatalf("an error with a message: %v", err)
			}
			return
		}
		c, err := newClient("http://127.0.0.1:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		for id := uint32(1); id <= 2; id++ {
			c.queries[id] = &remoteQuery{id: id, path: "q:" + string(rune('a'+id)), sub: newSubscription(), first: make(chan struct{})}
		}
		c.mutations[1] = &pendingMutation{name: "m:a", done: make(chan struct{})}
		c.querySet = 1
		var synced, ready bool
		_ = c.handle(m, &synced, &ready)
		_ = c.handle(m, &synced, &ready) // twice: a replayed message must be refused or harmless
	})
}
