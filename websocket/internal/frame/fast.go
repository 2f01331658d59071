//go:build !ioloop_purego

package frame

// useFast selects the word-at-a-time paths of Mask and Validator.
const useFast = true
