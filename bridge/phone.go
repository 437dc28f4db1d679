package bridge

// PhoneFrameSamples is the size of one phone audio frame: 20 ms at 8 kHz.
// Phone legs are mixed at 8 kHz (narrowband), the rate G.711 carries, so no
// resampling happens on the phone side and Opus works at 8 kHz too
// (MEDIA-COSTS.md: 2.3x cheaper than 48 kHz).
const PhoneFrameSamples = 160

// WidebandFrameSamples is a wideband phone leg's frame: 20 ms at 16 kHz.
const WidebandFrameSamples = 320

// PhoneWideband is what a PhoneAudio implements when its call carries
// wideband audio (G.722 or Opus to a softphone or an HD-voice trunk):
// ReadFrame and WriteFrame then take WidebandFrameSamples of 16 kHz PCM.
// While a room has such a leg it mixes at 16 kHz: browsers' Opus is decoded
// at 16 kHz, narrowband legs are resampled up for the mix and the mix they
// hear down (media.Upsampler2, media.Downsampler2), and the wideband leg's
// voice reaches browsers as 16 kHz Opus. The answer must not change for the
// attachment's lifetime (the call keeps its codec's rate).
type PhoneWideband interface {
	Wideband() bool
}

// PhoneAudio is the audio of a phone leg as the room's mixer sees it: 8 kHz
// mono PCM, one 20 ms frame per tick of the shared media clock. The sip package
// implements it on top of its RTP endpoint, jitter buffer and G.711 codec.
//
// Both methods are called on a media clock goroutine, once per tick, never
// concurrently with each other; they must not block.
type PhoneAudio interface {
	// ReadFrame fills dst (PhoneFrameSamples long) with what the caller said in
	// the last 20 ms, concealing loss. It returns false when the leg has no
	// audio (not started, on hold, network silence); the room then treats the
	// leg as silent.
	ReadFrame(dst []int16) bool
	// WriteFrame gives the leg what it hears this tick: the mix of everyone else.
	// silent reports that nobody else is talking: pcm is then nil and the leg
	// may send silence, comfort noise or nothing. pcm is only valid during the
	// call and may be shared between legs: do not modify or retain it.
	WriteFrame(pcm []int16, silent bool)
}

// PhoneFrameArrival is what a PhoneAudio may also implement so the engine
// can measure the delay it adds to a caller's voice on the way to browsers
// (Metrics.PhoneVoiceSent). It is called on the media clock goroutine right
// after ReadFrame.
type PhoneFrameArrival interface {
	// FrameArrival returns when the packet behind the frame the last
	// ReadFrame returned arrived, in Unix nanoseconds on the wall clock
	// (time.Now's); 0 when that frame was concealed or there was none.
	FrameArrival() int64
}

// PhoneWidebandTap is PhoneVoiceTap for a wideband leg (PhoneWideband):
// the leg decodes each audio packet (G.722, Opus) as it arrives and hands
// the bridge 16 kHz PCM, which goes on to the browsers as 16 kHz Opus (or,
// with PhoneVoicePCMU, as its narrowband part in G.711). A call in Opus
// also hands the packet's payload: the browsers get it as it is, neither
// re-encoded nor delayed, and the PCM only feeds the voice detector.
type PhoneWidebandTap interface {
	// TapWideband makes the leg call fn with every audio packet it
	// receives from now on, decoded: 16 kHz mono PCM; opus, the packet's
	// payload when the call's codec is Opus (else nil); the packet's SSRC,
	// its RTP timestamp converted to 16 kHz units (whatever the codec's
	// clock) and its arrival in Unix nanoseconds on the wall clock; nil
	// stops it. fn runs on the leg's receive goroutine; it does not block
	// or keep pcm or opus.
	TapWideband(fn func(pcm []int16, opus []byte, ssrc, ts uint32, arrived int64))
}

// PhoneVoiceTap is what a PhoneAudio may also implement so that the
// caller's voice leaves for the browsers as each packet arrives (as G.711,
// or encoded to Opus frame by frame) rather than after the mix's jitter
// buffer and the next tick:
// browsers run a jitter buffer of their own, so the phone → browser path
// need not wait for ours (phonetap.go).
type PhoneVoiceTap interface {
	// TapVoice makes the leg call fn with every audio packet it receives
	// from now on: the payload as G.711 μ-law (transcoded from A-law if the
	// call uses A-law), the packet's SSRC and RTP timestamp (8 kHz) and its
	// arrival in Unix nanoseconds on the wall clock; nil stops it. fn runs
	// on the leg's receive goroutine (the media clock's when RTP is
	// polled); it does not block or keep the payload.
	TapVoice(fn func(pcmu []byte, ssrc, ts uint32, arrived int64))
}
