package materials

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"github.com/dialroom/dialroom"
)

// image converts a PNG or JPEG at path into a one-page document. The image is
// decoded and re-encoded, so nothing of the upload but its pixels survives
// (no EXIF, no text chunks, no trailing data).
func (j *job) image(path string, k kind, doc *Document) error {
	decodeConfig, decode := png.DecodeConfig, png.Decode
	if k == kindJPEG {
		decodeConfig, decode = jpeg.DecodeConfig, jpeg.Decode
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("materials: %w", err)
	}
	defer f.Close()
	// The header says how large the image claims to be; check before decoding.
	ic, err := decodeConfig(bufio.NewReader(f))
	if err != nil {
		return &dialroom.Error{Code: dialroom.EINVALID, Message: fmt.Sprintf("the %s image could not be read; it may be damaged", k), Err: err}
	}
	if ic.Width <= 0 || ic.Height <= 0 || int64(ic.Width)*int64(ic.Height) > j.c.cfg.MaxPixels {
		return dialroom.Errorf(dialroom.EINVALID, "the image is too large (%d×%d pixels; at most %.3g megapixels)",
			ic.Width, ic.Height, float64(j.c.cfg.MaxPixels)/1e6)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("materials: %w", err)
	}
	src, err := decode(bufio.NewReader(f))
	if err != nil {
		return &dialroom.Error{Code: dialroom.EINVALID, Message: fmt.Sprintf("the %s image could not be read; it may be damaged", k), Err: err}
	}
	if err := j.ctx.Err(); err != nil {
		return err
	}
	// Scaling first makes turning cheaper; fit treats both sides alike, so the
	// order does not change the result.
	page := fit(flatten(src), j.c.cfg.PageSize)
	if k == kindJPEG {
		if o := exifOrientation(jpegHeaders(f)); o != 1 {
			page = orient(asRGBA(page), o)
		}
	}
	if err := writePNG(filepath.Join(j.out, pageFile("page", 1)), page); err != nil {
		return err
	}
	if err := writePNG(filepath.Join(j.out, pageFile("thumb", 1)), fit(page, j.c.cfg.ThumbSize)); err != nil {
		return err
	}
	b := page.Bounds()
	doc.Pages = []Page{{Width: b.Dx(), Height: b.Dy()}}
	return j.done(1, 1)
}

// flatten draws img on white into a new opaque RGBA image at origin (0,0):
// pages are paper, and a transparent PNG must not take the viewer's
// background colour.
func flatten(img image.Image) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	return dst
}

// jpegHeaders returns the start of a JPEG file, where its Exif segment is:
// APP segments come first and one is at most 64 KiB (a 16-bit length).
func jpegHeaders(f *os.File) []byte {
	head := make([]byte, 128<<10)
	n, _ := f.ReadAt(head, 0)
	return head[:n]
}

// asRGBA returns img as *image.RGBA, converting only when it is not one.
func asRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok {
		return r
	}
	return flatten(img)
}

// fit returns img scaled down so that its long side is at most size pixels,
// keeping the aspect ratio; an image that already fits is returned as it is.
func fit(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= size && h <= size {
		return img
	}
	var dw, dh int
	if w >= h {
		dw, dh = size, max(1, int((int64(h)*int64(size)+int64(w)/2)/int64(w)))
	} else {
		dw, dh = max(1, int((int64(w)*int64(size)+int64(h)/2)/int64(h))), size
	}
	return shrink(asRGBA(img), dw, dh)
}

// shrink scales src down to dw×dh by averaging the source pixels each
// destination pixel covers (a box filter: for reduction it has no aliasing and
// needs nothing beyond the standard library).
func shrink(src *image.RGBA, dw, dh int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	// Horizontal spans are the same for every row.
	x0s := make([]int, dw+1)
	for x := 0; x <= dw; x++ {
		x0s[x] = x * sw / dw
	}
	for y := 0; y < dh; y++ {
		y0, y1 := y*sh/dh, (y+1)*sh/dh
		if y1 == y0 {
			y1 = y0 + 1
		}
		for x := 0; x < dw; x++ {
			x0, x1 := x0s[x], x0s[x+1]
			if x1 == x0 {
				x1 = x0 + 1
			}
			var r, g, bl, a, n uint32
			for sy := y0; sy < y1; sy++ {
				row := src.Pix[(sy)*src.Stride+x0*4 : (sy)*src.Stride+x1*4]
				for i := 0; i < len(row); i += 4 {
					r += uint32(row[i])
					g += uint32(row[i+1])
					bl += uint32(row[i+2])
					a += uint32(row[i+3])
					n++
				}
			}
			o := y*dst.Stride + x*4
			dst.Pix[o] = uint8((r + n/2) / n)
			dst.Pix[o+1] = uint8((g + n/2) / n)
			dst.Pix[o+2] = uint8((bl + n/2) / n)
			dst.Pix[o+3] = uint8((a + n/2) / n)
		}
	}
	return dst
}

// writePNG encodes img to a new file at path.
func writePNG(path string, img image.Image) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("materials: %w", err)
	}
	w := bufio.NewWriter(f)
	err = png.Encode(w, img)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("materials: writing %s: %w", filepath.Base(path), err)
	}
	return nil
}
