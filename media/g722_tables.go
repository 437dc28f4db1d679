package media

// Constant tables of ITU-T G.722, in the Recommendation's own
// integer units. They are declared with var only because Go has no constant
// arrays; nothing ever writes to them. A few are the Recommendation's tables
// merged or padded for speed; TestG722Tables derives them from the
// originals. The QMF coefficients appear as constants in g722Filter.

// g722Q6Pad holds the lower-band decision levels Q6(MIL), MIL = 1…29,
// scaled so that (Q6·DETL)>>12 compares with the error magnitude. Entry 0 is
// never read; entries 30 and 31 repeat the last level so that QUANTL's
// search can look there without leaving the array (see quantizeLow).
var g722Q6Pad = [32]int32{
	0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650,
	714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195,
	2557, 2919, 2919, 2919,
}

// g722IL maps the lower-band quantiser interval MIL to the 6-bit code, for
// a non-negative error (ILP) in row 0 and a negative one (ILN) in row 1, so
// that the error's sign bit selects the row. MIL 30 is the open interval
// above the last decision level; entries 0 and 31 are never read.
var g722IL = [2][32]uint8{
	{
		0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45,
		44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0,
	},
	{
		0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
		16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0,
	},
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

// g722WL42 holds the lower-band log-scale-factor multipliers WL(RL42(IL>>2))
// indexed directly by IL>>2, saving the lookup through RL42: WL is
// {−60, −30, 58, 172, 334, 538, 1198, 3042} and RL42 is
// {0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}.
var g722WL42 = [16]int32{
	-60, 3042, 1198, 538, 334, 172, 58, -30,
	3042, 1198, 538, 334, 172, 58, -30, -60,
}

// g722ILB is the antilog table used by SCALEL and SCALEH.
var g722ILB = [32]int32{
	2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
	2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
	2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
	3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
}

// g722IH maps the higher-band interval MIH (1 inner, 2 outer) to the 2-bit
// code, for a non-negative error (IHP) in row 0 and a negative one (IHN) in
// row 1. Entries 0 and 3 are never read.
var g722IH = [2][4]uint8{{0, 3, 2, 0}, {0, 1, 0, 0}}

// g722QM2 is the 2-bit higher-band inverse quantiser QM2(IH).
var g722QM2 = [4]int32{-7408, -1616, 7408, 1616}

// g722WH2 holds the higher-band log-scale-factor multipliers WH(RH2(IH))
// indexed directly by IH: WH is {0, −214, 798} and RH2 is {2, 1, 2, 1}.
var g722WH2 = [4]int32{798, -214, 798, -214}
