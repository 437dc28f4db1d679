package materials

import (
	"bytes"
	"encoding/binary"
	"image"
)

// exifOrientation returns the Exif Orientation (1-8) of a JPEG, or 1 when it
// has none or it cannot be read. Cameras and phones store pixels as the
// sensor saw them and record how to turn them in this tag; Go's image/jpeg
// ignores it, and re-encoding drops it, so a photo of a page taken upright
// would show sideways. It reads untrusted bytes (FuzzExifOrientation).
func exifOrientation(jpg []byte) int {
	// JPEG (ITU T.81 §B.1.1.2): SOI, then marker segments FFxx + length
	// (which counts itself) until SOS starts the entropy-coded data.
	if !bytes.HasPrefix(jpg, []byte{0xff, 0xd8}) {
		return 1
	}
	p := jpg[2:]
	for len(p) >= 4 && p[0] == 0xff {
		marker := p[1]
		if marker == 0xda || marker == 0xd9 { // SOS, EOI: no more headers
			break
		}
		n := int(binary.BigEndian.Uint16(p[2:4]))
		if n < 2 || len(p) < 2+n {
			break
		}
		seg := p[4 : 2+n]
		// Exif 2.32 §4.5.4: APP1 holds "Exif\0\0" and a TIFF structure.
		if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		p = p[2+n:]
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure (TIFF 6.0
// §2: byte order, 42, offset of IFD0; an IFD is a count and 12-byte entries).
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := uint64(bo.Uint32(t[4:8]))
	if ifd+2 > uint64(len(t)) {
		return 1
	}
	count := uint64(bo.Uint16(t[ifd:]))
	for i := range count {
		e := ifd + 2 + 12*i
		if e+12 > uint64(len(t)) {
			break
		}
		// Tag 0x0112 Orientation, type SHORT (3), count 1: the value sits in
		// the first two bytes of the value field.
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// orient turns img as Exif orientation o says, so that it shows upright.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 { // the transposing ones swap width and height
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-x, y
			case 3: // upside down
				sx, sy = w-1-x, h-1-y
			case 4: // mirrored upside down
				sx, sy = x, h-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // needs a quarter turn clockwise
				sx, sy = y, h-1-x
			case 7: // transversed
				sx, sy = w-1-y, h-1-x
			case 8: // needs a quarter turn counter-clockwise
				sx, sy = w-1-y, x
			}
			s := img.PixOffset(b.Min.X+sx, b.Min.Y+sy)
			d := dst.PixOffset(x, y)
			copy(dst.Pix[d:d+4], img.Pix[s:s+4])
		}
	}
	return dst
}
