package memkv

// frame is one level of a cursor's path: a node and an index in its items.
type frame struct {
	n *node
	i int
}

// cursor is a position in a published (never modified) tree: the path
// from the root to the current item, so that moving to the next or the
// previous item costs a step, not a descent from the root. The current
// item is that of the last frame; an empty path means the cursor is past
// either end. A cursor moves one way: next after seekGE, prev after
// seekLT (the frames above the last mean different things each way).
//
// Frames above the last are the way back: a frame (n, i) of an inner node
// below which the cursor went down means, going forward, "items[i] comes
// after the child being walked" (the child is children[i]), and going
// backward "items[i] comes before it" (the child is children[i+1]).
//
// Example, forward, over a root [d h] with leaves [a b c] [e f g] [i j]:
// a seek of e leaves the path (root, 1) (leaf2, 0): e is current. Next
// moves to f, g; after g, leaf2 is done and is popped: (root, 1) makes h
// current. Next after h, an inner item, goes down to the leftmost leaf of
// children[2]: (root, 2) (leaf3, 0), i.
type cursor struct {
	path  []frame
	first [8]frame // the path's array for trees up to 8 levels deep (61^7 keys)
}

// valid reports whether the cursor is at an item.
func (c *cursor) valid() bool { return len(c.path) > 0 }

// item returns the current item. The cursor must be valid.
func (c *cursor) item() item {
	f := c.path[len(c.path)-1]
	return f.n.items[f.i]
}

// reset empties the path.
func (c *cursor) reset() {
	if c.path == nil {
		c.path = c.first[:0]
	}
	c.path = c.path[:0]
}

// seekGE moves to the first item whose key is not less than b's (the
// first item of all when b is nil) in the tree of root, which may be nil.
func (c *cursor) seekGE(root *node, b *bound) {
	c.reset()
	for n := root; n != nil; {
		i, found := 0, false
		if b != nil {
			i, found = n.find(b)
		}
		c.path = append(c.path, frame{n, i})
		if found || n.leaf() {
			break
		}
		n = n.children[i]
	}
	c.popForward()
}

// seekLT moves to the last item whose key is less than b's (the last item
// of all when b is nil) in the tree of root, which may be nil.
func (c *cursor) seekLT(root *node, b *bound) {
	c.reset()
	for n := root; n != nil; {
		i := len(n.items)
		if b != nil {
			i, _ = n.find(b)
		}
		c.path = append(c.path, frame{n, i - 1})
		if n.leaf() {
			break
		}
		n = n.children[i]
	}
	c.popBackward()
}

// next moves to the next item. The cursor must be valid.
func (c *cursor) next() {
	f := &c.path[len(c.path)-1]
	if f.n.leaf() {
		f.i++
		c.popForward()
		return
	}
	f.i++
	for n := f.n.children[f.i]; ; n = n.children[0] {
		c.path = append(c.path, frame{n, 0})
		if n.leaf() {
			return
		}
	}
}

// prev moves to the previous item. The cursor must be valid.
func (c *cursor) prev() {
	f := &c.path[len(c.path)-1]
	if f.n.leaf() {
		f.i--
		c.popBackward()
		return
	}
	n := f.n.children[f.i]
	f.i--
	for ; ; n = n.children[len(n.items)] {
		c.path = append(c.path, frame{n, len(n.items) - 1})
		if n.leaf() {
			return
		}
	}
}

// popForward drops the frames whose items are all behind the cursor.
func (c *cursor) popForward() {
	for len(c.path) > 0 {
		if f := c.path[len(c.path)-1]; f.i < len(f.n.items) {
			return
		}
		c.path = c.path[:len(c.path)-1]
	}
}

// popBackward drops the frames whose items are all ahead of the cursor.
func (c *cursor) popBackward() {
	for len(c.path) > 0 && c.path[len(c.path)-1].i < 0 {
		c.path = c.path[:len(c.path)-1]
	}
}
