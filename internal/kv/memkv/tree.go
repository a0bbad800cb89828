package memkv

// The store's B-tree: a copy-on-write B-tree of items (item.go), written
// by one writer and read, at any published root, by any number of
// readers.
//
// Copy-on-write by epoch: every node records the epoch of the writer that
// made it. The writer modifies a node in place only when the node is of
// its current epoch (made since the last publication, so no reader can
// hold it); any other node it must change is copied first, and the parent
// is pointed at the copy (the parent is of the current epoch already: the
// writer copies from the root down). Publishing the root ends the epoch
// (tree.publish), so every node reachable from a published root is never
// written again.
//
// Example: commit 1 builds root R (epoch 1) holding a and b and publishes
// it; the writer's epoch becomes 2. Commit 2 deletes a: R is of epoch 1,
// so the writer copies it to R' (epoch 2) and removes a from R'. A
// snapshot holding R still sees a and b.
//
// Why not google/btree (which this store used before): its nodes are
// three allocations each (node, items, children), always of full
// capacity, and every commit copies every node on the path of each key
// it writes. Here a node is one allocation holding its items (and, in an
// inner node, its children), and a copy is made with room for the items
// it holds plus one, rounded to a Go size class (allocNode), so that a
// node that is not full is copied for less than a full one. livedb's keys
// mostly arrive at the end of their index: splitAt leaves the nodes they
// filled full (never copied again) and the node they go on landing in
// small. A 6-key commit into 400k keys (BenchmarkLayout_Commit) went from
// 22.2 KB in 61 allocations to 16.1-16.3 KB in 38. Readers descend
// without a comparison function value: items are compared inline
// (bound.compareItem), by the words of what follows their node's common
// prefix (prefix.go).

// Sizes of a node: at most maxItems items. A full node splits into two of
// minItems around its middle item, or unevenly when the key that fills it
// goes near its end (splitAt); before a delete descends into a node of
// minItems or fewer, the node takes an item from a neighbour or merges
// with it. Every node but the root holds one item at least.
const (
	maxItems = 60                 // a full leaf and a full inner node fill 1536 and 2048 bytes
	minItems = (maxItems - 1) / 2 // a merge of two and the item between them fits
)

// node is a node of the tree: items in key order, and in an inner node
// len(items)+1 children, children[i] holding the keys between items[i-1]
// and items[i]. A leaf's children is nil. items and children are slices
// of arrays allocated with the node (allocNode); their capacities are the
// node's room. Every key of the node's items begins with its prefix,
// pre[:plen], and the items' words are of what follows it (prefix.go).
type node struct {
	items    []item
	children []*node
	epoch    uint64          // the writer's epoch that made the node
	pre      [maxPrefix]byte // the common prefix of the items' keys, plen bytes
	plen     uint8
}

// leaf reports whether n is a leaf.
func (n *node) leaf() bool { return n.children == nil }

// find returns the index of the first item of n whose key is not less
// than b's, and whether that item's key equals b's.
func (n *node) find(b *bound) (int, bool) {
	r, where := n.relBound(b)
	switch {
	case where < 0:
		return 0, false
	case where > 0:
		return len(n.items), false
	}
	lo, hi := 0, len(n.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := r.compareItem(n.items[m]); {
		case c < 0:
			lo = m + 1
		case c > 0:
			hi = m
		default:
			return m, true
		}
	}
	return lo, false
}

// get returns the item of b's key in the subtree of n, which may be nil.
func (n *node) get(b *bound) (item, bool) {
	for n != nil {
		i, found := n.find(b)
		if found {
			return n.items[i], true
		}
		if n.leaf() {
			break
		}
		n = n.children[i]
	}
	return item{}, false
}

// clone returns a copy of n made in epoch, with room for at least need
// items. A node of the same epoch that is cloned has run out of room (a
// commit that writes many keys into it): it gets half as much again, so
// that a large commit does not copy it at every insert.
func (n *node) clone(need int, epoch uint64) *node {
	need = max(need, len(n.items))
	if n.epoch == epoch {
		need += need / 2
	}
	c := allocNode(n.leaf(), min(need, maxItems), epoch)
	c.pre, c.plen = n.pre, n.plen
	c.items = append(c.items, n.items...)
	if !n.leaf() {
		c.children = append(c.children, n.children...)
	}
	return c
}

// mutableChild returns children[i] of n (a node of epoch), first copied
// into epoch, or into a node with room for need items, when it is not
// both.
func (n *node) mutableChild(i, need int, epoch uint64) *node {
	c := n.children[i]
	if c.epoch != epoch || cap(c.items) < need {
		c = c.clone(need, epoch)
		n.children[i] = c
	}
	return c
}

// insertAt inserts x at index i. n must have room for it.
func (n *node) insertAt(i int, x item) {
	n.items = append(n.items, item{})
	copy(n.items[i+1:], n.items[i:])
	n.items[i] = x
}

// insertChildAt inserts c as child i.
func (n *node) insertChildAt(i int, c *node) {
	n.children = append(n.children, nil)
	copy(n.children[i+1:], n.children[i:])
	n.children[i] = c
}

// removeAt removes and returns item i; the freed slot is zeroed, so that
// the node keeps no removed entry alive.
func (n *node) removeAt(i int) item {
	x := n.items[i]
	copy(n.items[i:], n.items[i+1:])
	n.items[len(n.items)-1] = item{}
	n.items = n.items[:len(n.items)-1]
	return x
}

// removeChildAt removes and returns child i.
func (n *node) removeChildAt(i int) *node {
	c := n.children[i]
	copy(n.children[i:], n.children[i+1:])
	n.children[len(n.children)-1] = nil
	n.children = n.children[:len(n.children)-1]
	return c
}

// split splits n (of epoch) around item i: n keeps the items before it,
// a new node of epoch takes those after it, and item i is returned, to go
// up into the parent (which adopts it). Each half's prefix grows to what
// its keys share.
func (n *node) split(i int, epoch uint64) (item, *node) {
	mid := n.items[i]
	right := allocNode(n.leaf(), len(n.items)-i, epoch)
	right.pre, right.plen = n.pre, n.plen
	right.items = append(right.items, n.items[i+1:]...)
	clear(n.items[i:])
	n.items = n.items[:i]
	if !n.leaf() {
		right.children = append(right.children, n.children[i+1:]...)
		clear(n.children[i+1:])
		n.children = n.children[:i+1]
	}
	n.lengthen()
	right.lengthen()
	return mid, right
}

// insert puts x, whose key is b's, into the subtree of n and returns the
// item it replaced, if any. n is of epoch, not full, and has room for one
// more item; so is every node insert descends into, which a full child is
// split before to make sure of.
func (n *node) insert(x item, b *bound, epoch uint64) (item, bool) {
	i, found := n.find(b)
	if found {
		old := n.items[i]
		n.items[i] = n.adopt(x)
		return old, true
	}
	if n.leaf() {
		n.insertAt(i, n.adopt(x))
		return item{}, false
	}
	if len(n.children[i].items) >= maxItems {
		child := n.mutableChild(i, 0, epoch)
		mid, right := child.split(splitAt(child, b), epoch)
		n.insertAt(i, n.adopt(mid))
		n.insertChildAt(i+1, right)
		switch c := b.compareIn(n, n.items[i]); {
		case c == 0:
			n.items[i] = n.adopt(x)
			return mid, true
		case c < 0: // mid sorts before x
			i++
		}
	}
	return n.mutableChild(i, len(n.children[i].items)+1, epoch).insert(x, b, epoch)
}

// splitAt returns where to split the full node n for the insertion of
// b's key: near the middle (where a group of keys sharing a longer prefix
// begins: splitMiddle), unless the key goes into its last quarter. Then
// the node is split just before the key: the items after it (at most a
// quarter) go to the new right node, with the key, and the left node
// keeps the rest. Keys that a commit adds at the end of an index, or of
// the change feed, land there one after the other: the nodes they fill
// are left full and never copied again, and the node they go on landing
// in stays small, so its copies stay cheap. (Splitting in the middle left
// every such node half full, and the last one between half and full.)
func splitAt(n *node, b *bound) int {
	p, _ := n.find(b)
	if p > maxItems*3/4 {
		return min(p-1, maxItems-2) // the right node holds one item at least
	}
	return n.splitMiddle() // prefix.go
}

// removeKind says what remove removes.
type removeKind int

const (
	removeKey removeKind = iota // the item of a key
	removeMax                   // the greatest item
)

// remove removes from the subtree of n (of epoch) the item of b's key, or
// its greatest item, and returns it. Before descending into a child that
// holds only minItems, it gives the child an item from a neighbour or
// merges it with one (growChildAndRemove), so that the child can lose one.
func (n *node) remove(b *bound, kind removeKind, epoch uint64) (item, bool) {
	var i int
	var found bool
	switch kind {
	case removeMax:
		if n.leaf() {
			return n.removeAt(len(n.items) - 1), true
		}
		i = len(n.items)
	default:
		i, found = n.find(b)
		if n.leaf() {
			if found {
				return n.removeAt(i), true
			}
			return item{}, false
		}
	}
	if len(n.children[i].items) <= minItems {
		return n.growChildAndRemove(i, b, kind, epoch)
	}
	c := n.mutableChild(i, 0, epoch)
	if found {
		// The item is in this inner node: its predecessor, the greatest
		// item of the child before it, takes its place.
		out := n.items[i]
		pred, _ := c.remove(nil, removeMax, epoch)
		n.items[i] = n.adopt(pred)
		return out, true
	}
	return c.remove(b, kind, epoch)
}

// growChildAndRemove gives child i of n, which holds minItems, one more
// item (from its left or right neighbour through n) or merges it with a
// neighbour, then removes as remove does.
func (n *node) growChildAndRemove(i int, b *bound, kind removeKind, epoch uint64) (item, bool) {
	switch {
	case i > 0 && len(n.children[i-1].items) > minItems:
		child := n.mutableChild(i, len(n.children[i].items)+1, epoch)
		from := n.mutableChild(i-1, 0, epoch)
		child.insertAt(0, child.adopt(n.items[i-1]))
		n.items[i-1] = n.adopt(from.removeAt(len(from.items) - 1))
		if !from.leaf() {
			child.insertChildAt(0, from.removeChildAt(len(from.children)-1))
		}
	case i < len(n.items) && len(n.children[i+1].items) > minItems:
		child := n.mutableChild(i, len(n.children[i].items)+1, epoch)
		from := n.mutableChild(i+1, 0, epoch)
		child.items = append(child.items, child.adopt(n.items[i]))
		n.items[i] = n.adopt(from.removeAt(0))
		if !from.leaf() {
			child.children = append(child.children, from.removeChildAt(0))
		}
	default:
		if i >= len(n.items) {
			i--
		}
		merged := n.children[i+1]
		child := n.mutableChild(i, len(n.children[i].items)+1+len(merged.items), epoch)
		child.items = append(child.items, child.adopt(n.removeAt(i)))
		n.removeChildAt(i + 1)
		child.appendFrom(merged)
	}
	return n.remove(b, kind, epoch)
}

// tree is the writer's tree: its root and its epoch. A new tree has epoch 1.
type tree struct {
	root  *node // nil when empty
	epoch uint64
}

// publish returns the root for readers and ends the epoch: nothing
// reachable from the returned root is written again.
func (t *tree) publish() *node {
	t.epoch++
	return t.root
}

// mutableRoot returns the root, first copied into the current epoch, or
// into a node with room for need items, when it is not both.
func (t *tree) mutableRoot(need int) *node {
	if r := t.root; r.epoch != t.epoch || cap(r.items) < need {
		t.root = r.clone(need, t.epoch)
	}
	return t.root
}

// set inserts or replaces x, whose key is b's, and returns the item it
// replaced, if any.
func (t *tree) set(x item, b *bound) (item, bool) {
	if t.root == nil {
		t.root = allocNode(true, 1, t.epoch)
		t.root.items = append(t.root.items, x)
		return item{}, false
	}
	r := t.mutableRoot(min(len(t.root.items)+1, maxItems))
	if len(r.items) >= maxItems {
		mid, right := r.split(splitAt(r, b), t.epoch)
		t.root = allocNode(false, 1, t.epoch)
		t.root.items = append(t.root.items, itemIn(mid.e, 0))
		t.root.lengthen()
		t.root.children = append(t.root.children, r, right)
	}
	return t.root.insert(x, b, t.epoch)
}

// delete removes the item of b's key and returns it, if there was one.
func (t *tree) delete(b *bound) (item, bool) {
	if t.root == nil {
		return item{}, false
	}
	r := t.mutableRoot(0)
	out, found := r.remove(b, removeKey, t.epoch)
	if len(r.items) == 0 {
		if r.leaf() {
			t.root = nil
		} else {
			t.root = r.children[0]
		}
	}
	return out, found
}

// allocNode returns an empty node of epoch, with room for at least need
// (at most maxItems) items, in one allocation. The room is the most that
// fits the Go size class the node needs (a leaf is 96 bytes and 24 per
// item; an inner node 104 bytes and 32 per item): a copy of a node holding
// n items costs the bytes of n+1, not of a full node.
func allocNode(leaf bool, need int, epoch uint64) *node {
	var n *node
	if leaf {
		switch {
		case need <= 6: // 240 bytes
			n = leafNode(func(a *[6]item) []item { return a[:0] })
		case need <= 14: // 432 (448)
			n = leafNode(func(a *[14]item) []item { return a[:0] })
		case need <= 22: // 624 (640)
			n = leafNode(func(a *[22]item) []item { return a[:0] })
		case need <= 33: // 888 (896)
			n = leafNode(func(a *[33]item) []item { return a[:0] })
		case need <= 38: // 1008 (1024)
			n = leafNode(func(a *[38]item) []item { return a[:0] })
		case need <= 44: // 1152
			n = leafNode(func(a *[44]item) []item { return a[:0] })
		case need <= 49: // 1272 (1280)
			n = leafNode(func(a *[49]item) []item { return a[:0] })
		case need <= 54: // 1392 (1408)
			n = leafNode(func(a *[54]item) []item { return a[:0] })
		default: // 1536
			n = leafNode(func(a *[maxItems]item) []item { return a[:0] })
		}
		n.epoch = epoch
		return n
	}
	switch {
	case need <= 6: // 296 (320) bytes
		n = innerNode(func(a *[6]item, c *[7]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 14: // 552 (576)
		n = innerNode(func(a *[14]item, c *[15]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 20: // 744 (768)
		n = innerNode(func(a *[20]item, c *[21]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 24: // 872 (896)
		n = innerNode(func(a *[24]item, c *[25]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 28: // 1000 (1024)
		n = innerNode(func(a *[28]item, c *[29]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 32: // 1128 (1152)
		n = innerNode(func(a *[32]item, c *[33]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 36: // 1256 (1280)
		n = innerNode(func(a *[36]item, c *[37]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 40: // 1384 (1408)
		n = innerNode(func(a *[40]item, c *[41]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 44: // 1512 (1536)
		n = innerNode(func(a *[44]item, c *[45]*node) ([]item, []*node) { return a[:0], c[:0] })
	case need <= 52: // 1768 (1792)
		n = innerNode(func(a *[52]item, c *[53]*node) ([]item, []*node) { return a[:0], c[:0] })
	default: // 2024 (2048)
		n = innerNode(func(a *[maxItems]item, c *[maxItems + 1]*node) ([]item, []*node) { return a[:0], c[:0] })
	}
	n.epoch = epoch
	return n
}

// leafNode returns a leaf allocated together with the item array A, whose
// empty slice of the array's room slice returns (Go has no generic array
// length, so each size of allocNode passes its own).
func leafNode[A any](slice func(*A) []item) *node {
	x := new(struct {
		node
		a A
	})
	x.items = slice(&x.a)
	return &x.node
}

// innerNode is leafNode for an inner node: its items and its children are
// allocated with it.
func innerNode[A, C any](slice func(*A, *C) ([]item, []*node)) *node {
	x := new(struct {
		node
		a A
		c C
	})
	x.items, x.children = slice(&x.a, &x.c)
	return &x.node
}
