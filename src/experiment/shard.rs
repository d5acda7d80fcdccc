//! Which slice of a sweep this process runs: `--shard I/M`, or `--shard auto` (`auto/M`)
//! from the index a batch scheduler gives each task of an array.
//!
//! - Slurm job arrays (`sbatch --array=MIN-MAX`) set `SLURM_ARRAY_TASK_ID` and
//!   `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_MAX`, `SLURM_ARRAY_TASK_COUNT`,
//!   `SLURM_ARRAY_TASK_STEP`: task ID is shard `ID - MIN + 1` of `MAX - MIN + 1`. The array
//!   must be contiguous (step 1, no list).
//! - Kubernetes Indexed Jobs set `JOB_COMPLETION_INDEX` (0-based): shard `INDEX + 1` of M,
//!   where M is given as `--shard auto/M` or by `LUXSIM_SHARD_COUNT` (the manifest sets it
//!   to the Job's `completions`).
//!
//! The environment is read through a lookup closure, so tests need not set process env.

use super::ExperimentError;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use thiserror::Error;

/// Slurm's array task id.
pub const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
/// Slurm's smallest task id of the array.
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// Slurm's largest task id of the array.
pub const SLURM_MAX: &str = "SLURM_ARRAY_TASK_MAX";
/// Slurm's number of tasks of the array.
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// Slurm's step between task ids.
pub const SLURM_STEP: &str = "SLURM_ARRAY_TASK_STEP";
/// Kubernetes' 0-based index of an Indexed Job's pod.
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
/// The shard count for `--shard auto` when the scheduler does not tell it (Kubernetes).
pub const COUNT_VAR: &str = "LUXSIM_SHARD_COUNT";

/// One slice of a sweep's run list: `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Which slice, from 1.
    pub index: usize,
    /// How many slices.
    pub count: usize,
}

/// Why `--shard auto` found no usable shard in the scheduler's environment variables.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShardEnvError {
    /// Neither Slurm's nor Kubernetes' index is set.
    #[error(
        "no array index in the environment: neither {SLURM_ID} (a Slurm job array, \
         sbatch --array) nor {K8S_INDEX} (a Kubernetes Indexed Job) is set{hint}"
    )]
    NoIndex {
        /// A hint when a scheduler is seen without an array (e.g. `SLURM_JOB_ID`).
        hint: String,
    },
    /// Both schedulers' indexes are set.
    #[error("both {SLURM_ID} and {K8S_INDEX} are set: cannot tell which scheduler runs this task")]
    Both,
    /// A variable needed with another is not set.
    #[error("{var} is set but {missing} is not")]
    Missing {
        /// The variable that is set.
        var: &'static str,
        /// What is missing.
        missing: &'static str,
    },
    /// A variable is not a non-negative integer.
    #[error("{var}={value:?} is not a non-negative integer")]
    NotANumber {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// The Slurm task id is not within the array's bounds.
    #[error("{SLURM_ID}={id} is outside {SLURM_MIN}..{SLURM_MAX} = {min}..{max}")]
    Outside {
        /// The task id.
        id: usize,
        /// The smallest id.
        min: usize,
        /// The largest id.
        max: usize,
    },
    /// The Slurm array has gaps (a step or a list), so ids do not map onto 1..M.
    #[error(
        "the Slurm array is not contiguous ({detail}): submit it as --array=MIN-MAX \
         (a range without step or list)"
    )]
    NotContiguous {
        /// What shows it.
        detail: String,
    },
    /// The Kubernetes index is not below the shard count.
    #[error("{K8S_INDEX}={index} is not below the shard count {count} (from {from})")]
    IndexTooLarge {
        /// The 0-based index.
        index: usize,
        /// The count.
        count: usize,
        /// Where the count came from.
        from: &'static str,
    },
    /// Two sources give different shard counts.
    #[error("the shard count is {a} by {from_a} but {b} by {from_b}")]
    CountMismatch {
        /// One count.
        a: usize,
        /// Its source.
        from_a: &'static str,
        /// The other count.
        b: usize,
        /// Its source.
        from_b: &'static str,
    },
    /// A shard count of zero.
    #[error("the shard count must be at least 1 ({from} is 0)")]
    ZeroCount {
        /// Where the count came from.
        from: &'static str,
    },
}

impl Shard {
    /// Parses `I/M` with `1 <= I <= M`.
    pub fn parse(arg: &str) -> Result<Shard, ExperimentError> {
        let (i, m) = arg
            .split_once('/')
            .ok_or_else(|| bad(arg, "expected I/M, e.g. 2/8 for the second of 8 slices"))?;
        let (index, count) = (number(arg, i)?, number(arg, m)?);
        if count == 0 || index == 0 || index > count {
            return Err(bad(arg, "I must be between 1 and M (I is 1-based)"));
        }
        Ok(Shard { index, count })
    }

    /// Parses `I/M`, `auto` or `auto/M`; `auto` reads the scheduler's variables by `env`.
    pub fn resolve(
        arg: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Shard, ExperimentError> {
        let Some(rest) = arg.trim().strip_prefix("auto") else {
            return Shard::parse(arg);
        };
        let count = match rest.strip_prefix('/') {
            Some(m) => match number(arg, m)? {
                0 => return Err(bad(arg, "M must be at least 1")),
                m => Some(m),
            },
            None if rest.is_empty() => None,
            None => return Err(bad(arg, "expected auto or auto/M")),
        };
        Ok(from_env(count, env)?)
    }

    /// The runs of this slice among `runs`: contiguous, sizes differ by at most one.
    pub fn range(&self, runs: usize) -> Range<usize> {
        let at = |i: usize| ((i as u128 * runs as u128) / self.count as u128) as usize;
        at(self.index - 1)..at(self.index)
    }
}

fn bad(arg: &str, message: &str) -> ExperimentError {
    ExperimentError::BadShard {
        arg: arg.to_string(),
        message: message.to_string(),
    }
}

fn number(arg: &str, text: &str) -> Result<usize, ExperimentError> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| bad(arg, "I and M must be integers"))
}

/// The shard of this task from the scheduler's variables; `count` is `auto/M`'s M.
pub fn from_env(
    count: Option<usize>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Shard, ShardEnvError> {
    let get = |var: &'static str| -> Result<Option<usize>, ShardEnvError> {
        match env(var).map(|v| v.trim().to_string()) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .parse::<usize>()
                .map(Some)
                .map_err(|_| ShardEnvError::NotANumber { var, value: v }),
        }
    };
    let env_count = get(COUNT_VAR)?;
    let given = match (count, env_count) {
        (Some(a), Some(b)) if a != b => {
            return Err(ShardEnvError::CountMismatch {
                a,
                from_a: "--shard auto/M",
                b,
                from_b: COUNT_VAR,
            })
        }
        (Some(m), _) => Some((m, "--shard auto/M")),
        (None, Some(m)) => Some((m, COUNT_VAR)),
        (None, None) => None,
    };
    if let Some((0, from)) = given {
        return Err(ShardEnvError::ZeroCount { from });
    }
    match (get(SLURM_ID)?, get(K8S_INDEX)?) {
        (Some(_), Some(_)) => Err(ShardEnvError::Both),
        (Some(id), None) => slurm(id, given, &get),
        (None, Some(index)) => {
            let (count, from) = given.ok_or(ShardEnvError::Missing {
                var: K8S_INDEX,
                missing: "the shard count (--shard auto/M or LUXSIM_SHARD_COUNT)",
            })?;
            if index >= count {
                return Err(ShardEnvError::IndexTooLarge { index, count, from });
            }
            Ok(Shard {
                index: index + 1,
                count,
            })
        }
        (None, None) => {
            let hint = match env("SLURM_JOB_ID") {
                Some(_) => " (SLURM_JOB_ID is: submit the job as an array, sbatch --array=1-M)",
                None => "",
            };
            Err(ShardEnvError::NoIndex { hint: hint.into() })
        }
    }
}

type Get<'a> = dyn Fn(&'static str) -> Result<Option<usize>, ShardEnvError> + 'a;

fn slurm(
    id: usize,
    given: Option<(usize, &'static str)>,
    get: &Get<'_>,
) -> Result<Shard, ShardEnvError> {
    let min = get(SLURM_MIN)?.ok_or(ShardEnvError::Missing {
        var: SLURM_ID,
        missing: SLURM_MIN,
    })?;
    let listed = get(SLURM_COUNT)?;
    if listed == Some(0) {
        return Err(ShardEnvError::ZeroCount { from: SLURM_COUNT });
    }
    let max = match (get(SLURM_MAX)?, listed) {
        (Some(max), _) => max,
        (None, Some(n)) => min + (n - 1),
        (None, None) => {
            return Err(ShardEnvError::Missing {
                var: SLURM_ID,
                missing: "SLURM_ARRAY_TASK_MAX or SLURM_ARRAY_TASK_COUNT",
            })
        }
    };
    if id < min || id > max {
        return Err(ShardEnvError::Outside { id, min, max });
    }
    let span = max - min + 1;
    if let Some(step) = get(SLURM_STEP)?.filter(|&s| s != 1) {
        return Err(ShardEnvError::NotContiguous {
            detail: format!("{SLURM_STEP}={step}"),
        });
    }
    if let Some(n) = listed.filter(|&n| n != span) {
        return Err(ShardEnvError::NotContiguous {
            detail: format!("{SLURM_COUNT}={n} but {min}..{max} spans {span} ids"),
        });
    }
    if let Some((m, from)) = given.filter(|&(m, _)| m != span) {
        return Err(ShardEnvError::CountMismatch {
            a: span,
            from_a: "the Slurm array",
            b: m,
            from_b: from,
        });
    }
    Ok(Shard {
        index: id - min + 1,
        count: span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    /// Variables, the `auto/M` count, the error wanted.
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<usize>, ShardEnvError);

    fn shard(index: usize, count: usize) -> Shard {
        Shard { index, count }
    }

    #[test]
    fn shards_cover_the_runs_once() {
        for runs in [0, 1, 7, 8, 100] {
            for count in 1..=9 {
                let mut next = 0;
                for index in 1..=count {
                    let r = Shard { index, count }.range(runs);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, runs);
            }
        }
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(Shard::parse("2/8").unwrap(), shard(2, 8));
        for bad in ["0/2", "3/2", "1/0", "1", "a/b", "1/2/3", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad} was accepted");
        }
        let none = env(&[]);
        assert_eq!(Shard::resolve("3/4", &none).unwrap(), shard(3, 4));
        for bad in ["auto/0", "auto/x", "autox", "auto/"] {
            let e = Shard::resolve(bad, &none).unwrap_err();
            assert!(matches!(e, ExperimentError::BadShard { .. }), "{bad}: {e}");
        }
        let e = Shard::resolve("auto", &none).unwrap_err();
        assert!(matches!(
            e,
            ExperimentError::ShardEnv(ShardEnvError::NoIndex { .. })
        ));
    }

    #[test]
    fn slurm_arrays() {
        let one_based = [
            (SLURM_ID, "3"),
            (SLURM_MIN, "1"),
            (SLURM_MAX, "4"),
            (SLURM_COUNT, "4"),
            (SLURM_STEP, "1"),
        ];
        assert_eq!(from_env(None, env(&one_based)), Ok(shard(3, 4)));
        assert_eq!(from_env(Some(4), env(&one_based)), Ok(shard(3, 4)));
        // 0-based and offset arrays map onto 1..M.
        let zero = [(SLURM_ID, "0"), (SLURM_MIN, "0"), (SLURM_MAX, "7")];
        assert_eq!(from_env(None, env(&zero)), Ok(shard(1, 8)));
        let offset = [(SLURM_ID, "12"), (SLURM_MIN, "10"), (SLURM_COUNT, "5")];
        assert_eq!(from_env(None, env(&offset)), Ok(shard(3, 5)));
        let spaced = [(SLURM_ID, " 2 "), (SLURM_MIN, "1"), (SLURM_MAX, "2")];
        assert_eq!(from_env(None, env(&spaced)), Ok(shard(2, 2)));
    }

    #[test]
    fn slurm_errors_name_the_variables() {
        let cases: &[Case] = &[
            (
                &[(SLURM_ID, "3")],
                None,
                ShardEnvError::Missing {
                    var: SLURM_ID,
                    missing: SLURM_MIN,
                },
            ),
            (
                &[(SLURM_ID, "3"), (SLURM_MIN, "1")],
                None,
                ShardEnvError::Missing {
                    var: SLURM_ID,
                    missing: "SLURM_ARRAY_TASK_MAX or SLURM_ARRAY_TASK_COUNT",
                },
            ),
            (
                &[(SLURM_ID, "9"), (SLURM_MIN, "1"), (SLURM_MAX, "4")],
                None,
                ShardEnvError::Outside {
                    id: 9,
                    min: 1,
                    max: 4,
                },
            ),
            (
                &[(SLURM_ID, "0"), (SLURM_MIN, "1"), (SLURM_MAX, "4")],
                None,
                ShardEnvError::Outside {
                    id: 0,
                    min: 1,
                    max: 4,
                },
            ),
            (
                &[
                    (SLURM_ID, "3"),
                    (SLURM_MIN, "1"),
                    (SLURM_MAX, "7"),
                    (SLURM_STEP, "2"),
                ],
                None,
                ShardEnvError::NotContiguous {
                    detail: "SLURM_ARRAY_TASK_STEP=2".into(),
                },
            ),
            (
                &[
                    (SLURM_ID, "3"),
                    (SLURM_MIN, "1"),
                    (SLURM_MAX, "5"),
                    (SLURM_COUNT, "3"),
                ],
                None,
                ShardEnvError::NotContiguous {
                    detail: "SLURM_ARRAY_TASK_COUNT=3 but 1..5 spans 5 ids".into(),
                },
            ),
            (
                &[(SLURM_ID, "1"), (SLURM_MIN, "1"), (SLURM_COUNT, "0")],
                None,
                ShardEnvError::ZeroCount { from: SLURM_COUNT },
            ),
            (
                &[(SLURM_ID, "x"), (SLURM_MIN, "1")],
                None,
                ShardEnvError::NotANumber {
                    var: SLURM_ID,
                    value: "x".into(),
                },
            ),
            (
                &[(SLURM_ID, "1"), (SLURM_MIN, "-1"), (SLURM_MAX, "4")],
                None,
                ShardEnvError::NotANumber {
                    var: SLURM_MIN,
                    value: "-1".into(),
                },
            ),
            (
                &[(SLURM_ID, "1"), (SLURM_MIN, "1"), (SLURM_MAX, "4")],
                Some(8),
                ShardEnvError::CountMismatch {
                    a: 4,
                    from_a: "the Slurm array",
                    b: 8,
                    from_b: "--shard auto/M",
                },
            ),
            (
                &[
                    (SLURM_ID, "1"),
                    (SLURM_MIN, "1"),
                    (SLURM_MAX, "4"),
                    (COUNT_VAR, "3"),
                ],
                None,
                ShardEnvError::CountMismatch {
                    a: 4,
                    from_a: "the Slurm array",
                    b: 3,
                    from_b: COUNT_VAR,
                },
            ),
            (
                &[(SLURM_JOB_ID_FOR_TEST, "77")],
                None,
                ShardEnvError::NoIndex {
                    hint: " (SLURM_JOB_ID is: submit the job as an array, sbatch --array=1-M)"
                        .into(),
                },
            ),
        ];
        for (vars, count, wanted) in cases {
            assert_eq!(
                from_env(*count, env(vars)).as_ref(),
                Err(wanted),
                "{vars:?}"
            );
            // Every message names the variable it is about.
            let text = wanted.to_string();
            if matches!(
                wanted,
                ShardEnvError::Outside { .. } | ShardEnvError::Missing { .. }
            ) {
                assert!(text.contains(SLURM_ID), "{text}");
            }
        }
    }

    const SLURM_JOB_ID_FOR_TEST: &str = "SLURM_JOB_ID";

    #[test]
    fn kubernetes_indexed_jobs() {
        let k = |i: &'static str| [(K8S_INDEX, i)];
        assert_eq!(from_env(Some(8), env(&k("0"))), Ok(shard(1, 8)));
        assert_eq!(from_env(Some(8), env(&k("7"))), Ok(shard(8, 8)));
        let counted = [(K8S_INDEX, "2"), (COUNT_VAR, "4")];
        assert_eq!(from_env(None, env(&counted)), Ok(shard(3, 4)));
        assert_eq!(from_env(Some(4), env(&counted)), Ok(shard(3, 4)));
        let cases: &[Case] = &[
            (
                &[(K8S_INDEX, "0")],
                None,
                ShardEnvError::Missing {
                    var: K8S_INDEX,
                    missing: "the shard count (--shard auto/M or LUXSIM_SHARD_COUNT)",
                },
            ),
            (
                &[(K8S_INDEX, "8")],
                Some(8),
                ShardEnvError::IndexTooLarge {
                    index: 8,
                    count: 8,
                    from: "--shard auto/M",
                },
            ),
            (
                &[(K8S_INDEX, "4"), (COUNT_VAR, "4")],
                None,
                ShardEnvError::IndexTooLarge {
                    index: 4,
                    count: 4,
                    from: COUNT_VAR,
                },
            ),
            (
                &[(K8S_INDEX, "1"), (COUNT_VAR, "4")],
                Some(8),
                ShardEnvError::CountMismatch {
                    a: 8,
                    from_a: "--shard auto/M",
                    b: 4,
                    from_b: COUNT_VAR,
                },
            ),
            (
                &[(K8S_INDEX, "1"), (COUNT_VAR, "0")],
                None,
                ShardEnvError::ZeroCount { from: COUNT_VAR },
            ),
            (
                &[(K8S_INDEX, "one")],
                Some(2),
                ShardEnvError::NotANumber {
                    var: K8S_INDEX,
                    value: "one".into(),
                },
            ),
            (
                &[(K8S_INDEX, "1"), (SLURM_ID, "1")],
                Some(2),
                ShardEnvError::Both,
            ),
            (
                &[],
                Some(2),
                ShardEnvError::NoIndex {
                    hint: String::new(),
                },
            ),
            (
                &[(K8S_INDEX, "")],
                Some(2),
                ShardEnvError::NoIndex {
                    hint: String::new(),
                },
            ),
        ];
        for (vars, count, wanted) in cases {
            assert_eq!(
                from_env(*count, env(vars)).as_ref(),
                Err(wanted),
                "{vars:?}"
            );
        }
        assert!(ShardEnvError::Both.to_string().contains(K8S_INDEX));
        let none = ShardEnvError::NoIndex {
            hint: String::new(),
        }
        .to_string();
        assert!(
            none.contains(SLURM_ID) && none.contains(K8S_INDEX),
            "{none}"
        );
    }
}
