package sip

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
)

// Prompts: what a caller hears where the dialplan names a prompt (the
// question of an access number, the lobby's waiting prompt, the goodbye).
// A prompt is a built-in sound, generated here, or a WAV file the admin
// recorded (dialplan.Prompt.File). Files are decoded once, converted to
// 8 kHz mono and cached by path, modification time and size: a dialplan
// reload, or a file replaced under the same name, plays the new recording on
// the next call, and an unchanged file costs one stat per use. A file that
// cannot be read or decoded plays the built-in sound of its use in its place,
// with a warning in the log: a caller never hears silence where a prompt
// should be, and a broken file never fails a call.

// promptCache turns dialplan prompts into media sources. It is safe for
// concurrent use: calls take their prompts on their own goroutines.
type promptCache struct {
	log *slog.Logger
	// builtins holds each built-in prompt's sound at 8 kHz; filled by
	// newPromptCache and read-only afterwards.
	builtins map[string]media.PCM

	mu    sync.Mutex
	files map[string]*promptFile // by path; entries live as long as the server
}

// promptFile is one recording as last decoded. Its own lock serialises
// decoding the same file, so a burst of calls decodes it once and calls
// playing other prompts do not wait.
type promptFile struct {
	mu      sync.Mutex
	version string    // modification time and size, or the stat error, when last read
	pcm     media.PCM // 8 kHz mono; nil when err is set
	err     error
}

func newPromptCache(log *slog.Logger) *promptCache {
	pc := &promptCache{log: log, builtins: map[string]media.PCM{}, files: map[string]*promptFile{}}
	for _, name := range dialplan.BuiltinPrompts() {
		pc.builtins[name] = builtinSound(name)
	}
	return pc
}

// source returns what to play for p: its recording, or its built-in sound,
// once or, with loop, over and over; and how long one play lasts (callers
// bound their wait for a finite prompt by it). fallback is the built-in
// prompt of this use (e.g. dialplan.PromptWaiting in the lobby), played when
// p is nil or its file cannot be played. The source belongs to the caller
// (the leg's tick).
func (pc *promptCache) source(p *dialplan.Prompt, fallback string, loop bool) (media.Source, time.Duration) {
	pcm := pc.pcm(p, fallback)
	dur := time.Duration(len(pcm)) * time.Second / media.G711Rate
	if loop {
		return media.NewLoop(pcm), dur
	}
	return &clip{pcm: pcm}, dur
}

// pcm returns the 8 kHz audio of p, falling back as source describes.
func (pc *promptCache) pcm(p *dialplan.Prompt, fallback string) media.PCM {
	switch {
	case p == nil:
	case p.File != "":
		if pcm, err := pc.file(p.File); err == nil {
			return pcm
		}
	case p.Builtin != "":
		if pcm, ok := pc.builtins[p.Builtin]; ok {
			return pcm
		}
	}
	return pc.builtins[fallback]
}

// file returns the decoded recording at path, decoding it when it is new or
// has changed since it was last read. A failure is logged once per version
// of the file (not at every call) and returned.
func (pc *promptCache) file(path string) (media.PCM, error) {
	pc.mu.Lock()
	f := pc.files[path]
	if f == nil {
		f = &promptFile{}
		pc.files[path] = f
	}
	pc.mu.Unlock()

	f.mu.Lock()
	defer f.mu.Unlock()
	var version string
	info, err := os.Stat(path)
	if err != nil {
		version = "error: " + err.Error()
	} else {
		version = fmt.Sprintf("%d/%d", info.ModTime().UnixNano(), info.Size())
	}
	if version == f.version {
		return f.pcm, f.err
	}
	f.version = version
	f.pcm, f.err = nil, err
	if err == nil {
		f.pcm, f.err = decodePromptFile(path)
	}
	if f.err != nil {
		pc.log.Warn("sip: prompt file cannot be played; playing the built-in sound instead", "file", path, "err", f.err)
	} else {
		pc.log.Info("sip: prompt file loaded", "file", path, "seconds", float64(len(f.pcm))/media.G711Rate)
	}
	return f.pcm, f.err
}

// CheckPromptFile reports whether the sound file at path can be played as a
// prompt: a RIFF/WAVE file of 16-bit linear PCM, mono or stereo, at one of
// the common rates (media.IsWAVRate), holding some audio. It decodes the
// whole file, as playing it would. The dialplan loader calls it for every
// prompt file (dialplan.LoadOptions.CheckPrompt), so `dialroom dialplan
// check` and a reload report a bad file with its line.
func CheckPromptFile(path string) error {
	_, err := decodePromptFile(path)
	return err
}

// decodePromptFile reads a WAV file and converts it to 8 kHz mono.
func decodePromptFile(path string) (media.PCM, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	pcm, rate, err := media.ReadWAV(fh)
	if err != nil {
		return nil, err
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("%w: no audio in the data chunk", media.ErrWAV)
	}
	return media.Resample(pcm, rate, media.G711Rate)
}

// clip plays PCM once; it is a media.Source.
type clip struct {
	pcm media.PCM
	pos int
}

// Read fills dst with the next samples; at the end it pads dst with silence
// and returns io.EOF.
func (c *clip) Read(dst []int16) (int, error) {
	n := copy(dst, c.pcm[c.pos:])
	c.pos += n
	if c.pos >= len(c.pcm) {
		clear(dst[n:])
		return n, io.EOF
	}
	return n, nil
}

// Built-in sounds. They are tones rather than words, so they need no
// language: an admin who wants words records them and names the files in
// the dialplan's prompts section. Levels are -16 dBFS, loud enough over a
// phone line without clipping after G.711; the waiting beep is softer
// because the caller may hear it for minutes.

// builtinSound renders the built-in prompt name at 8 kHz (nil for an
// unknown name, which BuiltinPrompts never returns).
func builtinSound(name string) media.PCM {
	switch name {
	case dialplan.PromptEnterNumber:
		// Two rising beeps: a question.
		return join(beeps(660, 150, 100, 1), beeps(880, 150, 100, 1))
	case dialplan.PromptInvalidNumber:
		// Three low beeps: try again.
		return beeps(300, 120, 80, 3)
	case dialplan.PromptWaiting, dialplan.PromptHold:
		// A soft 440 Hz beep every 2 s, looped: quiet enough not to annoy
		// over minutes, regular enough to show the line is alive.
		return render(mustBeeps(440, -20, 200, 1800, 1))
	case dialplan.PromptDeclined, dialplan.PromptGoodbye:
		// Three short beeps, about 0.75 s, then the server hangs up.
		return beeps(480, 150, 100, 3)
	case dialplan.PromptRingback:
		return ringingTone()
	case dialplan.PromptNotInService:
		// The special information tone (ITU-T E.180 §7): 950, 1400 and
		// 1800 Hz, 330 ms each, the tone networks play before "the number
		// you have dialled is not in service" in every language.
		return join(beeps(950, 330, 30, 1), beeps(1400, 330, 30, 1), beeps(1800, 330, 300, 1))
	}
	return nil
}

// beeps renders n beeps of hz at -16 dBFS, on and off in milliseconds.
func beeps(hz float64, onMS, offMS, n int) media.PCM {
	return render(mustBeeps(hz, -16, onMS, offMS, n))
}

// mustBeeps is media.NewBeeps for the constants above, which are valid.
func mustBeeps(hz, level float64, onMS, offMS, n int) *media.Beeps {
	b, err := media.NewBeeps(media.G711Rate, hz, level, time.Duration(onMS)*time.Millisecond, time.Duration(offMS)*time.Millisecond, n)
	if err != nil {
		panic(err) // a programming error in the constants above
	}
	return b
}

// render reads a finite source to its end.
func render(src media.Source) media.PCM {
	var out media.PCM
	var buf [160]int16
	for {
		n, err := src.Read(buf[:])
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

func join(parts ...media.PCM) media.PCM {
	var out media.PCM
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// planPrompt returns the prompt the current dialplan names name (a built-in,
// or the admin's file under that name), or nil without a plan.
func (s *Server) planPrompt(name string) *dialplan.Prompt {
	if p := s.cfg.Plan(); p != nil {
		return p.Prompt(name)
	}
	return nil
}

// playWaiting loops the lobby's waiting prompt (the conference route's
// prompt) until the caller is admitted or leaves.
func (c *call) playWaiting() {
	src, _ := c.srv.prompts.source(c.prompt, dialplan.PromptWaiting, true)
	c.leg.play(src, nil)
}

// ringingTone is one period of the ringing tone Japanese networks play
// (as ITU-T E.180 Supplement 2 lists Japan's): 400 Hz amplitude-modulated at
// 16 Hz, 1 s on, 2 s off, at -16 dBFS peak. Callers here dial Japanese
// numbers; admins elsewhere give the ringback prompt their own recording.
func ringingTone() media.PCM {
	const rate = media.G711Rate
	out := make(media.PCM, 3*rate)
	amp := 32767 * math.Pow(10, -16.0/20)
	for i := range rate { // the first second; the other two stay silent
		t := float64(i) / rate
		envelope := 0.5 + 0.5*math.Cos(2*math.Pi*16*t)
		out[i] = int16(amp * envelope * math.Sin(2*math.Pi*400*t))
	}
	return out
}
