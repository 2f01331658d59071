//go:build ioloop_purego

package frame

// useFast is false under the ioloop_purego tag: Mask and Validator use
// their byte-at-a-time reference paths.
const useFast = false
