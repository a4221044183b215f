package wal

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Record framing. Every record is
//
//	length  uint32  payload length, little endian
//	crc     uint32  CRC-32C (Castagnoli) of length, type and payload
//	type    byte    1..255 (0 never appears in a valid record)
//	payload [length]byte
//
// A torn write leaves a record whose length runs past the data or whose
// checksum does not match; zero-filled space never decodes because type 0
// is invalid.
const headerSize = 9

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decoding failures. errIncomplete means the bytes end inside the record.
var (
	errIncomplete = errors.New("record extends past the end of the data")
	errChecksum   = errors.New("checksum mismatch")
	errBadType    = errors.New("record type 0")
	errTooLarge   = errors.New("record length exceeds the limit")
)

// appendRecord appends the framed record to dst.
func appendRecord(dst []byte, typ byte, payload []byte) []byte {
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	h[8] = typ
	crc := crc32.Update(0, castagnoli, h[0:4])
	crc = crc32.Update(crc, castagnoli, h[8:9])
	crc = crc32.Update(crc, castagnoli, payload)
	binary.LittleEndian.PutUint32(h[4:8], crc)
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// decodeRecord decodes the record at the start of b. It returns the type,
// the payload (aliasing b) and the record's total size. The length is
// checked against max before anything else.
func decodeRecord(b []byte, max int) (typ byte, payload []byte, n int, err error) {
	if len(b) < headerSize {
		return 0, nil, 0, errIncomplete
	}
	length := binary.LittleEndian.Uint32(b[0:4])
	if uint64(length) > uint64(max) {
		return 0, nil, 0, errTooLarge
	}
	n = headerSize + int(length)
	if len(b) < n {
		return 0, nil, 0, errIncomplete
	}
	typ = b[8]
	crc := crc32.Update(0, castagnoli, b[0:4])
	crc = crc32.Update(crc, castagnoli, b[8:n])
	if crc != binary.LittleEndian.Uint32(b[4:8]) {
		return 0, nil, 0, errChecksum
	}
	if typ == 0 {
		return 0, nil, 0, errBadType
	}
	return typ, b[headerSize:n:n], n, nil
}
