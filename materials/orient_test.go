package materials

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"testing"

	"github.com/dialroom/dialroom"
)

// withOrientation inserts an Exif APP1 segment with Orientation o right after
// the SOI of jpg, in the given byte order, as a camera writes it.
func withOrientation(jpg []byte, o uint16, bo binary.ByteOrder) []byte {
	var tiff bytes.Buffer
	if bo == binary.LittleEndian {
		tiff.WriteString("II*\x00")
	} else {
		tiff.WriteString("MM\x00*")
	}
	binary.Write(&tiff, bo, uint32(8)) // IFD0 right after the header
	binary.Write(&tiff, bo, uint16(2)) // two entries
	// XResolution-like unrelated entry first, then Orientation.
	binary.Write(&tiff, bo, []uint16{0x010f, 2}) // Make, ASCII
	binary.Write(&tiff, bo, []uint32{4, 0})
	binary.Write(&tiff, bo, []uint16{0x0112, 3})
	binary.Write(&tiff, bo, uint32(1))
	binary.Write(&tiff, bo, []uint16{o, 0})
	binary.Write(&tiff, bo, uint32(0)) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// halves is w×h, red on the left half and blue on the right.
func halves(w, h int) *image.NRGBA {
	img := filled(w, h, color.NRGBA{0, 0, 255, 255})
	for y := range h {
		for x := range w / 2 {
			img.Set(x, y, color.NRGBA{255, 0, 0, 255})
		}
	}
	return img
}

func TestConvertJPEGOrientation(t *testing.T) {
	c := newTestConverter(t, Config{})
	photo := encodeJPEG(t, halves(400, 200))
	red := func(c color.Color) bool { r, _, b, _ := c.RGBA(); return r > 0xc000 && b < 0x4000 }
	tests := []struct {
		o          uint16
		bo         binary.ByteOrder
		w, h       int
		redAtProbe image.Point // a point that must be red, and its mirror blue
		blueProbe  image.Point
	}{
		{1, binary.BigEndian, 400, 200, image.Pt(50, 100), image.Pt(350, 100)},
		{3, binary.LittleEndian, 400, 200, image.Pt(350, 100), image.Pt(50, 100)},
		{6, binary.BigEndian, 200, 400, image.Pt(100, 50), image.Pt(100, 350)},    // left becomes top
		{8, binary.LittleEndian, 200, 400, image.Pt(100, 350), image.Pt(100, 50)}, // left becomes bottom
		{2, binary.BigEndian, 400, 200, image.Pt(350, 100), image.Pt(50, 100)},
	}
	for _, tt := range tests {
		doc, err := c.Convert(t.Context(), bytes.NewReader(withOrientation(photo, tt.o, tt.bo)), "photo.jpg", nil)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Pages[0] != (Page{tt.w, tt.h}) {
			t.Errorf("orientation %d: page %+v, want %dx%d", tt.o, doc.Pages[0], tt.w, tt.h)
			continue
		}
		path, _ := c.PagePath(doc.ID, 1)
		img := decodePNGFile(t, path)
		if !red(img.At(tt.redAtProbe.X, tt.redAtProbe.Y)) || red(img.At(tt.blueProbe.X, tt.blueProbe.Y)) {
			t.Errorf("orientation %d: not turned upright", tt.o)
		}
		if dialroom.ErrorCode(c.Remove(doc.ID)) != "" {
			t.Fatal("remove failed")
		}
	}
}

func TestOrientAll(t *testing.T) {
	// A 3×2 image with distinct pixels; each orientation maps the corner that
	// shows top-left (Exif 2.32, Orientation tag) to (0,0).
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[4*i] = uint8(i + 1)
	}
	// Source pixel numbers, row by row: 1 2 3 / 4 5 6.
	topLeft := map[int]uint8{1: 1, 2: 3, 3: 6, 4: 4, 5: 1, 6: 4, 7: 6, 8: 3}
	for o, want := range topLeft {
		got := orient(src, o)
		if got.Pix[0] != want {
			t.Errorf("orientation %d: top-left pixel %d, want %d", o, got.Pix[0], want)
		}
		if b := got.Bounds(); (o >= 5) != (b.Dx() == 2) {
			t.Errorf("orientation %d: bounds %v", o, b)
		}
	}
}

func FuzzExifOrientation(f *testing.F) {
	jpg := encodeJPEG(f, filled(4, 4, color.White))
	f.Add(jpg)
	f.Add(withOrientation(jpg, 6, binary.BigEndian))
	f.Add(withOrientation(jpg, 8, binary.LittleEndian))
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := exifOrientation(data); o < 1 || o > 8 {
			t.Errorf("orientation %d", o)
		}
	})
}
