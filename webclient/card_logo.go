package webclient

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"
	"image/png"
	"strings"

	"github.com/dialroom/dialroom"
)

// logoJPEGQuality is what re-encoded JPEG logos use: indistinguishable from
// the original for a logo, and small enough to stay under MaxCardLogo.
const logoJPEGQuality = 85

// parseLogoURI decodes a logo sent as a data URI ("data:image/png;base64,…")
// and hands it to cleanLogo. An empty string is no logo. The declared media
// type is not believed: the bytes decide.
func parseLogoURI(uri string) ([]byte, string, error) {
	if uri == "" {
		return nil, "", nil
	}
	bad := dialroom.Errorf(dialroom.EINVALID, "The logo must be a PNG or JPEG image sent as a base64 data URI.")
	head, data, ok := strings.Cut(uri, ",")
	if !ok || !strings.HasPrefix(head, "data:") || !strings.HasSuffix(head, ";base64") {
		return nil, "", bad
	}
	// Base64 of MaxCardLogo bytes is 4/3 as long: reject more before decoding.
	if len(data) > base64.StdEncoding.EncodedLen(dialroom.MaxCardLogo) {
		return nil, "", errLogoTooBig()
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, "", bad
	}
	return cleanLogo(raw)
}

func errLogoTooBig() error {
	return dialroom.Errorf(dialroom.EINVALID, "The logo must be at most %d KiB.", dialroom.MaxCardLogo>>10)
}

// cleanLogo checks that raw is a PNG or JPEG (by its signature, not by what
// the client claimed), at most MaxCardLogo bytes and MaxCardLogoSide pixels a
// side (read from the header before any pixel is decoded, so a small file
// cannot expand into a huge bitmap), decodes it fully and re-encodes it. The
// re-encoding means only pixels reach other members: no metadata (a photo's
// EXIF location), no trailing bytes, nothing a crafted file could smuggle to
// another member's image decoder. It returns the new bytes and their type.
func cleanLogo(raw []byte) ([]byte, string, error) {
	if len(raw) > dialroom.MaxCardLogo {
		return nil, "", errLogoTooBig()
	}
	var (
		typ          string
		decodeConfig func([]byte) (image.Config, error)
		decode       func([]byte) (image.Image, error)
	)
	switch {
	case bytes.HasPrefix(raw, []byte("\x89PNG\r\n\x1a\n")):
		typ = dialroom.LogoPNG
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(raw, []byte{0xff, 0xd8, 0xff}):
		typ = dialroom.LogoJPEG
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	default:
		return nil, "", dialroom.Errorf(dialroom.EINVALID, "The logo must be a PNG or JPEG image.")
	}
	cfg, err := decodeConfig(raw)
	if err != nil {
		return nil, "", dialroom.Errorf(dialroom.EINVALID, "The logo is not a readable image.")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > dialroom.MaxCardLogoSide || cfg.Height > dialroom.MaxCardLogoSide {
		return nil, "", dialroom.Errorf(dialroom.EINVALID, "The logo must be at most %d×%d pixels.", dialroom.MaxCardLogoSide, dialroom.MaxCardLogoSide)
	}
	img, err := decode(raw)
	if err != nil {
		return nil, "", dialroom.Errorf(dialroom.EINVALID, "The logo is not a readable image.")
	}
	var out bytes.Buffer
	if typ == dialroom.LogoPNG {
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		err = enc.Encode(&out, img)
	} else {
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: logoJPEGQuality})
	}
	if err != nil {
		return nil, "", dialroom.Errorf(dialroom.EINVALID, "The logo could not be re-encoded.")
	}
	if out.Len() > dialroom.MaxCardLogo {
		return nil, "", dialroom.Errorf(dialroom.EINVALID, "The logo is too detailed to fit in %d KiB; use a smaller image.", dialroom.MaxCardLogo>>10)
	}
	return out.Bytes(), typ, nil
}

// logoURI is the data URI of a logo, or "" for none.
func logoURI(logo []byte, typ string) string {
	if len(logo) == 0 {
		return ""
	}
	return "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(logo)
}
