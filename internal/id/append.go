package id

// AppendText appends to dst the text of the ID of the given table and
// internal id, as [Encode] returns it, without allocating a string.
func AppendText(dst []byte, tableNumber uint32, internalID [16]byte) []byte {
	var buf [maxEncodedLen]byte
	n := encodeTo(&buf, tableNumber, internalID)
	return append(dst, buf[:n]...)
}
