package materials_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/materials"
)

// Converting an upload and serving its pages: the caller stores doc.ID with
// whatever says who may see it, and serves PagePath's file.
func ExampleConverter_Convert() {
	conv, err := materials.New(materials.Config{
		Root:        "/var/lib/dialroom/materials",
		LibreOffice: materials.LookLibreOffice(), // "" when not installed
	})
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("slides.pdf")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	doc, err := conv.Convert(context.Background(), f, "slides.pdf", func(done, total int) {
		fmt.Printf("page %d of %d\n", done, total)
	})
	if dialroom.ErrorCode(err) == dialroom.EINVALID {
		fmt.Println(dialroom.ErrorMessage(err)) // for the operator who uploaded it
		return
	} else if err != nil {
		log.Fatal(err)
	}
	path, err := conv.PagePath(doc.ID, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(doc.Pages), "pages; the first is", path)
}
