package media

// Constant tables of ITU-T G.722, in the Recommendation's own
// integer units. They are declared with var only because Go has no constant
// arrays; nothing ever writes to them.

// g722QMF holds the transmit and receive QMF coefficients h0, h2, …, h22.
// The filter is symmetric, so the odd taps h1, h3, …, h23 are the same
// numbers in reverse order.
var g722QMF = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}

// g722Q6 holds the lower-band decision levels Q6(MIL), MIL = 1…29, scaled so
// that (Q6·DETL)>>12 compares with the error magnitude.
var g722Q6 = [31]int32{
	0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650,
	714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195,
	2557, 2919, 0,
}

// g722ILN and g722ILP map the lower-band quantiser interval MIL to the 6-bit
// code for a negative and a non-negative error. MIL 30 is
// the open interval above the last decision level.
var g722ILN = [31]uint8{
	0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
	15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
}

var g722ILP = [31]uint8{
	0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44,
	43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
}

// g722QM6 is the 6-bit lower-band inverse quantiser QM6(IL) used for the
// decoder output in mode 1; codes 0–3 never come from a
// conforming encoder and decode as the smallest negative level.
var g722QM6 = [64]int32{
	-136, -136, -136, -136, -24808, -21904, -19008, -16704,
	-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
	-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
	-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
	24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
	10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
	4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
	1688, 1360, 1040, 728, 432, 136, -432, -136,
}

// g722QM4 is the 4-bit lower-band inverse quantiser QM4(IL>>2) that feeds the
// predictor and scale adaptation in every mode.
var g722QM4 = [16]int32{
	0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
	20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
}

// g722RL42 maps IL>>2 to the index into g722WL, the lower-band
// log-scale-factor multipliers.
var g722RL42 = [16]uint8{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}

var g722WL = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}

// g722ILB is the antilog table used by SCALEL and SCALEH.
var g722ILB = [32]int32{
	2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
	2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
	2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
	3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
}

// g722IHN and g722IHP map the higher-band interval MIH (1 inner, 2 outer) to
// the 2-bit code for a negative and a non-negative error.
var g722IHN = [3]uint8{0, 1, 0}

var g722IHP = [3]uint8{0, 3, 2}

// g722QM2 is the 2-bit higher-band inverse quantiser QM2(IH).
var g722QM2 = [4]int32{-7408, -1616, 7408, 1616}

// g722RH2 maps IH to the index into g722WH, the higher-band log-scale-factor
// multipliers.
var g722RH2 = [4]uint8{2, 1, 2, 1}

var g722WH = [3]int32{0, -214, 798}
