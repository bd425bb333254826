"""The packed layout the batch kernels and their packing share: column and row indices, as named constants.

:mod:`spanlike.batch.prepared` writes arrays in this layout and
:mod:`spanlike.batch.kernels` reads them; both import the indices from here,
so the layout is stated once. numba reads these module globals as
compile-time constants.
"""

from __future__ import annotations

from spanlike.aggregation.methods import BATCH_EXCHANGE, BATCH_SPAN
from spanlike.methodology.joint_move import JOINT_SLOTS, N_JOINT

# --- row_i columns (one row per universe row) --------------------------------------------------
RI_CC, RI_TIER, RI_DELIV, RI_OPT, RI_CALL, RI_EXP = 0, 1, 2, 3, 4, 5
N_RI = 6
# --- row_f columns -------------------------------------------------------------------------------
RF_DELTA, RF_MULT, RF_MARK = 0, 1, 2
N_RF = 3
# --- cc_i columns (one row per combined commodity of the universe) -----------------------------
(CI_METHOD, CI_M, CI_NTIERS, CI_NSPREADS, CI_HAS_DELIV, CI_HAS_SOM, CI_SOM_GROSS, CI_NOV,
 CI_HAS_ROLL, CI_HAS_DSHOCK, CI_NO_MOVE, CI_NEXP, CI_CORR, CI_HAS_MAXOFF) = range(14)
# The joint-move floor's scenario indices (methodology.joint_move.joint_index_table), one row per commodity.
CI_JOINT = 14
N_CI = 14 + N_JOINT * JOINT_SLOTS
# --- cc_f columns ----------------------------------------------------------------------------------
(CF_INDEX, CF_UNIT_VALUE, CF_USD_PER_UNIT, CF_DELIV_SPREAD, CF_DELIV_OUTRIGHT, CF_SOM_RATE,
 CF_PNL_OFFSET, CF_MAXOFF, CF_DAMPENER, CF_ROLL_MIN, CF_ROLL_RISK, CF_DS_THRESHOLD, CF_DS_RATE) = range(13)
N_CF = 13
# Method codes are the registry's (spanlike.aggregation.methods), so packing and kernels agree.
METHOD_SPAN, METHOD_EXCHANGE = BATCH_SPAN, BATCH_EXCHANGE
# --- scen_i[c, j, :] ---------------------------------------------------------------------------
SC_PAIRED, SC_EXTENDED, SC_PURE_PRICE, SC_SIDE = 0, 1, 2, 3
N_SC = 4
# --- spr_i[c, s, :] = [n_legs, tier_pos_0..L-1, side_0..L-1]; spr_f[c, s, :] = [rate, months, ratio_0..L-1]
# --- inter_i[p, :] = [n_legs, notional, cc_0..L-1, side_0..L-1]; inter_f[p, :] = [credit_rate, ratio_0..L-1]
# --- glob_i = [has_inter_spreads, has_correlation, n_tiers_max T, has_joint_move_floor, delta_one offsets];
# --- glob_f = [mm_factor, im_factor, joint-move floor weight]
GI_HAS_INTER, GI_HAS_CORR, GI_T, GI_HAS_FLOOR, GI_DELTA_ONE = 0, 1, 2, 3, 4
N_GI = 5
# --- state rows: one per commodity, then (GI_DELTA_ONE sets) one per commodity for the account's
# futures and perpetuals alone, the sub-book the cross level's offsets are measured on (methodology 6.3).
GF_MM, GF_IM, GF_FLOOR_WEIGHT = 0, 1, 2
N_GF = 3
# --- state scalar columns (after the ladders) ----------------------------------------------------
S_NET, S_SHORT_CALL, S_SHORT_PUT, S_NOV, S_COUNT = 0, 1, 2, 3, 4
N_S = 5
# --- comp[c, :]: per-commodity components written by _finish_account ----------------------------
(C_PRESENT, C_SCAN, C_TIME, C_VOL, C_PRICE, C_NET_DELTA, C_INTRA, C_DELIVERY, C_INTER, C_SOM,
 C_SOM_BINDING, C_NOV, C_ROLL, C_DELTA_SHOCK, C_REQUIREMENT, C_WORST, C_DIRECTION) = range(17)
N_COMP = 17
COMPONENT_NAMES = (
    "present", "scan_risk", "time_risk", "vol_risk", "price_risk", "net_delta", "intra_spread_charge",
    "delivery_charge", "inter_spread_credit", "short_option_minimum", "short_option_minimum_binding",
    "net_option_value", "roll_shock", "delta_shock", "requirement", "worst_scenario", "direction",
)
# --- tot[:]: account totals --------------------------------------------------------------------
T_REQ, T_SUM, T_OFFSET, T_IM, T_MM, T_WORST_CC, T_WORST_SCEN, T_FLOOR, T_ADDON, T_JOINT = range(10)
N_TOT = 10
# Header of the packed int buffer: the dimensions that locate every array in the two buffers.
H_N_ROWS, H_M, H_N_CC, H_S, H_L, H_E, H_P, H_LI = range(8)
N_HEADER = 8
