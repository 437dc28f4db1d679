package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/materials"
	"github.com/dialroom/dialroom/storage"
	"github.com/dialroom/dialroom/webclient"
)

// newConverter makes the document converter of the operators' libraries
// from the config's materials section: documents live in DATA_DIR/materials.
// Without poppler's pdftoppm the server still starts, without a converter:
// the console then says uploads are not possible and why. Documents no
// material row names any more are removed (sweepMaterials).
func newConverter(cfg *configs.Config, db *storage.DB, log *slog.Logger) (webclient.Converter, error) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		log.Warn("materials: pdftoppm not found; document uploads are refused until poppler-utils is installed")
		return nil, nil
	}
	office := materials.LookLibreOffice()
	if office == "" {
		log.Info("materials: LibreOffice not found; Office documents are refused with a message")
	}
	root := filepath.Join(cfg.DataDir, "materials")
	c, err := materials.New(materials.Config{
		Root:     root,
		MaxBytes: cfg.Materials.MaxBytes,
		MaxPages: cfg.Materials.MaxPages,
		PageSize: cfg.Materials.PageSize,
		// A thumbnail is never larger than its page (page_size may go down
		// to 200 px, below the default thumbnail).
		ThumbSize:   min(materials.DefaultThumbSize, cfg.Materials.PageSize),
		Timeout:     cfg.Materials.Timeout,
		Concurrency: cfg.Materials.Concurrency,
		LibreOffice: office,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	sweepMaterials(db, c, root, log)
	return materialsConverter{c}, nil
}

// sweepMaterials removes the documents under root that no material row
// names: those of operators deleted (their rows go with them, by the
// schema's ON DELETE CASCADE, while the files are only the server's to
// remove). It runs before the server takes uploads, so no conversion can
// be finishing meanwhile.
func sweepMaterials(db *storage.DB, c *materials.Converter, root string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keep, err := db.MaterialDocuments(ctx)
	if err != nil {
		log.Warn("materials: sweep", "err", err)
		return
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || keep[e.Name()] {
			continue
		}
		if err := c.Remove(e.Name()); err == nil {
			log.Info("materials: removed a document no material names", "document", e.Name())
		}
	}
}

// materialLimits are webclient's limits for the same section: one worker
// per conversion slot, uploads spooled under DATA_DIR/uploads.
func materialLimits(cfg *configs.Config) webclient.MaterialLimits {
	return webclient.MaterialLimits{
		MaxBytes: cfg.Materials.MaxBytes,
		MaxPages: cfg.Materials.MaxPages,
		Workers:  cfg.Materials.Concurrency,
		SpoolDir: filepath.Join(cfg.DataDir, "uploads"),
	}
}

// materialsConverter adapts *materials.Converter to webclient.Converter
// (webclient does not import materials).
type materialsConverter struct{ c *materials.Converter }

func (a materialsConverter) Convert(ctx context.Context, src io.Reader, name string, progress func(done, total int)) (webclient.ConvertedDocument, error) {
	doc, err := a.c.Convert(ctx, src, name, progress)
	if err != nil {
		return webclient.ConvertedDocument{}, err
	}
	return webclient.ConvertedDocument{ID: doc.ID, Type: doc.Type, Pages: len(doc.Pages)}, nil
}

func (a materialsConverter) Remove(document string) error { return a.c.Remove(document) }

func (a materialsConverter) PagePath(document string, page int) (string, error) {
	return a.c.PagePath(document, page)
}

func (a materialsConverter) ThumbPath(document string, page int) (string, error) {
	return a.c.ThumbPath(document, page)
}
