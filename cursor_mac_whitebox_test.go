package livedb

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/v"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The AES-CMAC of cursor_mac.go gives the subkeys and MACs published in
// RFC 4493 section 4 (the four examples, AES-128) and the 20-byte example
// of NIST's SP 800-38B examples (AES_CMAC.pdf), which ends inside a block.
func TestCMACKey_Sum_RFC4493Vectors(t *testing.T) {
	k := newCMACKey(mustHex(t, "2b7e1516 28aed2a6 abf71588 09cf4f3c"))
	if want := mustHex(t, "fbeed618 35713366 7c85e08f 7236a8de"); !bytes.Equal(k.k1[:], want) {
		t.Errorf("K1 = %x, want %x", k.k1, want)
	}
	if want := mustHex(t, "f7ddac30 6ae266cc f90bc11e e46d513b"); !bytes.Equal(k.k2[:], want) {
		t.Errorf("K2 = %x, want %x", k.k2, want)
	}
	msg := mustHex(t, "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51"+
		"30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710")
	for _, tc := range []struct {
		name string
		n    int
		want string
	}{
		{"empty", 0, "bb1d6929 e9593728 7fa37d12 9b756746"},
		{"one block", 16, "070a16b4 6b4d4144 f79bdd9d d04a287c"},
		{"20 bytes", 20, "7d85449e a6ea19c8 23a7bf78 837dfade"},
		{"40 bytes", 40, "dfa66747 de9ae630 30ca3261 1497c827"},
		{"four blocks", 64, "51f0bebf 7e3b9d92 fc497417 79363cfe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var x [16]byte
			k.sum(&x, msg[:tc.n])
			if want := mustHex(t, tc.want); !bytes.Equal(x[:], want) {
				t.Errorf("AES-CMAC(%x) = %x, want %x", msg[:tc.n], x, want)
			}
			if got := k.appendMAC([]byte("dst"), msg[:tc.n]); string(got) != "dst"+string(x[:cursorMACLen]) {
				t.Errorf("appendMAC = %x, want dst then %x", got, x[:cursorMACLen])
			}
		})
	}
}

// A catalog's cursor key is the one derived from its own secret, made
// once and kept, and a clone (same secret) keeps it.
func TestCatalog_CursorKey_FromItsSecret(t *testing.T) {
	a, b := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{7}, 32)
	b[31] = 8
	derive := func(secret []byte) *cmacKey {
		h := sha256.Sum256(append([]byte(cmacKeyLabel), secret...))
		return newCMACKey(h[:16])
	}
	for _, secret := range [][]byte{a, b} {
		c := newCatalog()
		c.secret = secret
		got, want := c.cursorKey(), derive(secret)
		if got.k1 != want.k1 || got.k2 != want.k2 {
			t.Fatalf("secret %x: subkeys %x %x, want %x %x", secret, got.k1, got.k2, want.k1, want.k2)
		}
		if again := c.cursorKey(); again != got {
			t.Errorf("secret %x: a second cursorKey made a new key", secret)
		}
		if cl := c.clone(); cl.cursorKey() != got {
			t.Errorf("secret %x: the clone made a new key", secret)
		}
		var x, y [16]byte
		got.sum(&x, []byte("body"))
		want.sum(&y, []byte("body"))
		if x != y {
			t.Errorf("secret %x: MAC %x, want %x", secret, x, y)
		}
	}
}

// cursorTestDB opens a memory database whose secret is 0x00, 0x01, …,
// 0x1f, the one the golden version-1 cursors were signed with.
func cursorTestDB(t *testing.T) *DB {
	t.Helper()
	s := DefineSchema(Tables{"items": DefineTable(v.Object(v.Fields{"k": v.Float64()})).Index("by_k", "k")})
	db, err := OpenMemory(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	secret := db.cat.Load().secret
	if len(secret) != 32 {
		t.Fatalf("a secret of %d bytes, want 32", len(secret))
	}
	for i := range secret {
		secret[i] = byte(i)
	}
	return db
}

// Version-1 cursors, signed with HMAC-SHA256, were made by livedb before
// version 2 (commit 0d7bbae's encodeCursor, for the query on items.by_k
// with the secret of cursorTestDB): they are still accepted, as what they
// said, and refused when any character or byte of them is changed.
func TestQuery_DecodeCursor_Version1Golden(t *testing.T) {
	db := cursorTestDB(t)
	key := mustHex(t, "0100000003676f6c64656e206b6579200001ff") // index 3's prefix, then "golden key \x00\x01\xff"
	golden := []struct {
		name   string
		order  Order
		cursor string
		want   cursor
	}{
		{"after", Asc, "AQHuxWyJ6urv8wEAAAADZ29sZGVuIGtleSAAAf9iWewDgi4P-lPK4WA", cursor{key: key}},
		{"end", Asc, "AQLuxWyJ6urv8zBya_IZw80kMDFeEw", cursor{end: true}},
		{"desc after", Desc, "AQE2-_UoeMp9qQEAAAADZ29sZGVuIGtleSAAAf9lb8M8F2ck7tC_y1w", cursor{key: key}},
	}
	err := db.Query(context.Background(), func(qc *QueryCtx) error {
		for _, g := range golden {
			q := qc.DB.Query("items").WithIndex("by_k", nil).Order(g.order)
			c, err := q.decodeCursor(g.cursor)
			if err != nil || c.end != g.want.end || !bytes.Equal(c.key, g.want.key) {
				t.Errorf("%s: decodeCursor = %v, %x, %v; want %v, %x", g.name, c.end, c.key, err, g.want.end, g.want.key)
			}
			mustRefuseAlterations(t, g.name, g.cursor, func(s string) error {
				_, err := qc.DB.Query("items").WithIndex("by_k", nil).Order(g.order).decodeCursor(s)
				return err
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// mustRefuseAlterations checks that decode refuses, with ErrInvalidCursor,
// every string made from cursor by changing one character to another
// base64url character, and every one made by changing one byte of what
// it decodes to into another value.
func mustRefuseAlterations(t *testing.T, name, cursor string, decode func(string) error) {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(cursor) {
		for _, c := range []byte(alphabet) {
			if c == cursor[i] {
				continue
			}
			s := cursor[:i] + string(c) + cursor[i+1:]
			if err := decode(s); !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("%s: character %d changed to %q (%s): %v, want ErrInvalidCursor", name, i, c, s, err)
			}
		}
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for d := 1; d < 256; d++ {
			a := bytes.Clone(b)
			a[i] ^= byte(d)
			s := base64.RawURLEncoding.EncodeToString(a)
			if err := decode(s); !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("%s: byte %d XORed with %#x (%s): %v, want ErrInvalidCursor", name, i, d, s, err)
			}
		}
	}
}

// A version-1 cursor made for a row's key (signed here with crypto/hmac,
// as livedb signed them before version 2) continues after that row, as the
// version-2 cursor livedb now hands out for the same row does.
func TestQuery_Paginate_Version1Cursor(t *testing.T) {
	db := cursorTestDB(t)
	err := db.Mutation(context.Background(), func(mc *MutationCtx) error {
		for k := range 10 {
			if _, err := mc.DB.Insert("items", Doc{"k": float64(k)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Clone(db.cat.Load().secret)
	for _, o := range []Order{Asc, Desc} {
		err = db.Query(context.Background(), func(qc *QueryCtx) error {
			byK := func() *Query { return qc.DB.Query("items").WithIndex("by_k", nil).Order(o) }
			p1, err := byK().Paginate(PaginationOptions{NumItems: 3})
			if err != nil {
				return err
			}
			v2, err := base64.RawURLEncoding.DecodeString(p1.ContinueCursor)
			if err != nil {
				return err
			}
			if v2[0] != cursorVersionCMAC {
				t.Errorf("%v: Paginate handed out a cursor of version %d, want %d", o, v2[0], cursorVersionCMAC)
			}
			body := append([]byte{cursorVersionHMAC}, v2[1:len(v2)-cursorMACLen]...)
			h := hmac.New(sha256.New, secret)
			h.Write(body)
			v1 := base64.RawURLEncoding.EncodeToString(append(body, h.Sum(nil)[:cursorMACLen]...))
			want, err := byK().Paginate(PaginationOptions{NumItems: 3, Cursor: p1.ContinueCursor})
			if err != nil {
				return err
			}
			got, err := byK().Paginate(PaginationOptions{NumItems: 3, Cursor: v1})
			if err != nil {
				t.Errorf("%v: the version-1 cursor: %v", o, err)
				return nil
			}
			if len(got.Page) != 3 || len(want.Page) != 3 {
				t.Fatalf("%v: pages of %d and %d rows, want 3", o, len(got.Page), len(want.Page))
			}
			for i := range got.Page {
				if got.Page[i]["k"] != want.Page[i]["k"] {
					t.Errorf("%v: row %d: k = %v after the version-1 cursor, %v after version 2", o, i, got.Page[i]["k"], want.Page[i]["k"])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A cursor of a version livedb does not know is refused as such, before
// its MAC is looked at, whatever MAC it carries.
func TestQuery_DecodeCursor_UnknownVersion(t *testing.T) {
	db := cursorTestDB(t)
	err := db.Query(context.Background(), func(qc *QueryCtx) error {
		q := qc.DB.Query("items").WithIndex("by_k", nil)
		good, err := base64.RawURLEncoding.DecodeString(q.encodeCursor(cursor{key: []byte("k")}))
		if err != nil {
			return err
		}
		for _, version := range []byte{0, 3, 0xff} {
			b := bytes.Clone(good)
			b[0] = version
			// Signed as version 2 would sign it: still refused.
			b = db.cat.Load().cursorKey().appendMAC(b[:len(b)-cursorMACLen], b[:len(b)-cursorMACLen])
			_, err := q.decodeCursor(base64.RawURLEncoding.EncodeToString(b))
			if !errors.Is(err, ErrInvalidCursor) || !strings.Contains(err.Error(), "unknown cursor version") {
				t.Errorf("version %d: %v, want ErrInvalidCursor: unknown cursor version", version, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
