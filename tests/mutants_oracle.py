"""Mutants that the differential ``oracle.*`` checks must report as failed: resize defects of
tests/mutants.py (the same step overridden), judged here against the reference resize."""

import mutants
from mutants import collect


class OracleShiftedRows(mutants.DropsARow):
    kills = {"oracle.matches_reference": "vs the reference resize"}
    description = "rows shifted by one: kept rows differ from the reference"


class OracleStaleConfig(mutants.StaleConfig):
    kills = {"oracle.matches_reference": "config vocab_size is"}
    description = "config.vocab_size not updated"


class OracleExtraRow(mutants.OffByOne):
    kills = {"oracle.matches_reference": "input matrix: shape"}
    description = "matrices get N+1 rows"


class OracleLosesTie(mutants.LosesTie):
    kills = {"oracle.tie_matches_reference": "tie state changed by the resize"}
    description = "a tied head becomes an equal-valued copy"


class OracleBiasNewOnes(mutants.BiasNewOnes):
    kills = {"oracle.bias_matches_reference": "vs the reference resize"}
    description = "new bias entries are 1 instead of 0"


class OracleForgetsBias(mutants.ForgetsBias):
    kills = {"oracle.bias_matches_reference": "': shape ["}
    description = "the bias dict is not resized"


ALL = collect(globals())
