//! Globs turned straight into an automaton over bytes, without going through a regular
//! expression.
//!
//! The automaton accepts exactly the bytes [`glob_regex`](super::glob_regex) matches: the
//! same translation, written as states and byte ranges instead of as text. It is a small
//! nondeterministic automaton with empty moves, one piece per token, which [`determinise`]
//! turns into a [`Raw`] by subset construction. Nothing here has to be as general as a regular
//! expression engine: a glob has no alternation inside a segment, no counted repetition and no
//! look-around, so the automaton has a handful of states per token and the sets of states the
//! subset construction meets stay small.
//!
//! Some states match every input: the one after `/` in the trailing `(?:/.*)?$` or `/.+$`, and
//! those that lead only there or back to themselves, such as the last `*` of `*delete*` (see
//! [`universal_states`]). A set that holds one is the matching state of the [`Raw`] at once, so
//! that the other globs of a union are no longer followed once one has matched; this keeps
//! the sets few, and changes nothing in the minimal table, whose matching state is exactly the
//! states from which every input matches.

use std::collections::{HashMap, VecDeque};

use super::{DEAD, MATCH, MAX_EXPLORED, Raw};
use crate::glob::{Glob, Part, Segment};

/// The bytes `lo..=hi`.
type Bytes = (u8, u8);

const SLASH: [Bytes; 1] = [(b'/', b'/')];
/// `(?-u:[^/])`.
const NOT_SLASH: [Bytes; 2] = [(0x00, b'/' - 1), (b'/' + 1, 0xFF)];
/// `(?-u:.)` with `(?s)`: any byte.
const ANY: [Bytes; 1] = [(0x00, 0xFF)];
/// `(?-u:[^/\x80-\xBF])`: a byte that starts a character, other than `/`.
const LEAD: [Bytes; 3] = [(0x00, b'/' - 1), (b'/' + 1, 0x7F), (0xC0, 0xFF)];
/// `(?-u:[\x80-\xBF])`: a continuation byte.
const CONTINUATION: [Bytes; 1] = [(0x80, 0xBF)];

/// The largest Unicode scalar value.
const MAX_SCALAR: u32 = 0x10_FFFF;

/// A nondeterministic automaton over bytes with empty moves.
#[derive(Debug, Default)]
pub(super) struct Nfa {
    states: Vec<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Byte ranges and the state each leads to.
    edges: Vec<(u8, u8, u32)>,
    /// The states reached without reading a byte.
    empty: Vec<u32>,
    /// The input may end here: a glob has matched.
    accept: bool,
    /// Every input matches from here. Such a state has no edges: a set that contains it is
    /// the matching state and is never expanded.
    universal: bool,
}

/// Why a determinisation stopped.
#[derive(Debug)]
pub(super) enum Exceeded {
    /// The unminimised automaton would have more than its limit of states.
    States,
    /// It would take more than the work left in the budget it was given.
    Work,
}

impl Nfa {
    /// The automaton of the union of `globs`, and its start state.
    pub(super) fn union(globs: &[Glob]) -> (Nfa, u32) {
        let mut nfa = Nfa::default();
        let start = nfa.state();
        for glob in globs {
            let from = nfa.state();
            nfa.empty(start, from);
            nfa.glob(glob, from);
        }
        (nfa, start)
    }

    fn state(&mut self) -> u32 {
        self.states.push(State::default());
        // Patterns are at most 4096 bytes and a token takes a few dozen states at most, so a
        // union of a list's patterns stays far below `u32::MAX` states.
        (self.states.len() - 1) as u32
    }

    fn at(&mut self, s: u32) -> Option<&mut State> {
        self.states.get_mut(s as usize)
    }

    fn edge(&mut self, from: u32, bytes: &[Bytes], to: u32) {
        if let Some(state) = self.at(from) {
            state
                .edges
                .extend(bytes.iter().map(|&(lo, hi)| (lo, hi, to)));
        }
    }

    fn empty(&mut self, from: u32, to: u32) {
        if let Some(state) = self.at(from) {
            state.empty.push(to);
        }
    }

    /// One byte in `bytes`; returns the state after it.
    fn one(&mut self, from: u32, bytes: &[Bytes]) -> u32 {
        let to = self.state();
        self.edge(from, bytes, to);
        to
    }

    /// Any number of bytes in `bytes`; returns the state after them.
    fn many(&mut self, from: u32, bytes: &[Bytes]) -> u32 {
        let run = self.state();
        self.empty(from, run);
        self.edge(run, bytes, run);
        run
    }

    /// One or more bytes in `bytes`.
    fn some(&mut self, from: u32, bytes: &[Bytes]) -> u32 {
        let first = self.one(from, bytes);
        self.many(first, bytes)
    }

    /// Adds the automaton of `glob` from `s`, the translation of [`glob_regex`](super::glob_regex)
    /// token by token.
    fn glob(&mut self, glob: &Glob, mut s: u32) {
        let segments = glob.segments();
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            match segment {
                // `[^/]+(?:/[^/]+)*` followed by the tail, `(?:/.*)?$` or `/.+$`, is `[^/]+`
                // followed by it: the tail already takes any further segments.
                Segment::AnyDepth if last => s = self.some(s, &NOT_SLASH),
                Segment::AnyDepth => {
                    // `(?:[^/]+/)*`
                    let head = self.state();
                    self.empty(s, head);
                    let name = self.some(head, &NOT_SLASH);
                    self.edge(name, &SLASH, head);
                    s = head;
                }
                Segment::Parts(parts) => {
                    for part in parts {
                        s = self.part(part, s);
                    }
                    if !last {
                        s = self.one(s, &SLASH);
                    }
                }
            }
        }
        let all = self.universal();
        if glob.dir_only() {
            // `/(?-u:.)+$`
            let slash = self.one(s, &SLASH);
            self.edge(slash, &ANY, all);
        } else {
            // `(?:/(?-u:.)*)?$`
            if let Some(state) = self.at(s) {
                state.accept = true;
            }
            self.edge(s, &SLASH, all);
        }
    }

    fn part(&mut self, part: &Part, s: u32) -> u32 {
        match part {
            Part::Literal(text) => text.bytes().fold(s, |s, b| self.one(s, &[(b, b)])),
            Part::Star => self.many(s, &NOT_SLASH),
            Part::Question => {
                let lead = self.one(s, &LEAD);
                self.many(lead, &CONTINUATION)
            }
            Part::Class { negated, ranges } => {
                let to = self.state();
                for (lo, hi) in class_scalars(*negated, ranges) {
                    for seq in utf8_sequences(lo, hi) {
                        let mut at = s;
                        let mut bytes = seq.iter().peekable();
                        while let Some(&range) = bytes.next() {
                            let after = if bytes.peek().is_some() {
                                self.state()
                            } else {
                                to
                            };
                            self.edge(at, &[range], after);
                            at = after;
                        }
                    }
                }
                to
            }
        }
    }

    fn universal(&mut self) -> u32 {
        let s = self.state();
        if let Some(state) = self.at(s) {
            state.accept = true;
            state.universal = true;
        }
        s
    }
}

/// The scalar values a class of a glob matches, as sorted disjoint ranges: those in its ranges
/// other than `/` (`[ranges]` without `/`), or when it is negated every scalar value outside
/// them and other than `/` (`[^ranges/]`).
fn class_scalars(negated: bool, ranges: &[(char, char)]) -> Vec<(u32, u32)> {
    let slash = u32::from(b'/');
    let ranges = ranges
        .iter()
        .map(|&(lo, hi)| (u32::from(lo), u32::from(hi)));
    let mut out = Vec::new();
    if !negated {
        for (lo, hi) in ranges {
            if (lo..=hi).contains(&slash) {
                out.extend(
                    [(lo, slash - 1), (slash + 1, hi)]
                        .into_iter()
                        .filter(|(lo, hi)| lo <= hi),
                );
            } else {
                out.push((lo, hi));
            }
        }
        return out;
    }
    let mut excluded: Vec<(u32, u32)> = ranges.chain([(slash, slash)]).collect();
    excluded.sort_unstable();
    let mut next = 0u32;
    for (lo, hi) in excluded {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = next.max(hi.saturating_add(1));
    }
    if next <= MAX_SCALAR {
        out.push((next, MAX_SCALAR));
    }
    out
}

/// The UTF-8 encodings of the scalar values `lo..=hi` (surrogates are skipped), as sequences of
/// byte ranges: every encoding is matched by exactly one sequence, and a sequence matches
/// nothing else. A range is split until its ends have the same length and differ only in
/// bytes that span their whole range of continuation values, so that the byte ranges of the
/// two ends' encodings describe it exactly (the method of RE2 and `regex-syntax`).
fn utf8_sequences(lo: u32, hi: u32) -> Vec<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut stack = vec![(lo, hi)];
    'split: while let Some((lo, hi)) = stack.pop() {
        if lo > hi {
            continue;
        }
        if lo <= 0xDFFF && hi >= 0xD800 {
            stack.push((0xE000, hi));
            stack.push((lo, 0xD7FF));
            continue;
        }
        // Split where the encoding gets longer.
        for max in [0x7F, 0x7FF, 0xFFFF] {
            if lo <= max && max < hi {
                stack.push((max + 1, hi));
                stack.push((lo, max));
                continue 'split;
            }
        }
        // Split where a continuation byte would not span its whole range.
        for i in 1..4 {
            let m = (1u32 << (6 * i)) - 1;
            if lo & !m != hi & !m {
                if lo & m != 0 {
                    stack.push(((lo | m) + 1, hi));
                    stack.push((lo, lo | m));
                    continue 'split;
                }
                if hi & m != m {
                    stack.push((hi & !m, hi));
                    stack.push((lo, (hi & !m) - 1));
                    continue 'split;
                }
            }
        }
        let (Some(a), Some(b)) = (char::from_u32(lo), char::from_u32(hi)) else {
            continue;
        };
        let (mut a_buf, mut b_buf) = ([0u8; 4], [0u8; 4]);
        let (a, b) = (a.encode_utf8(&mut a_buf), b.encode_utf8(&mut b_buf));
        out.push(a.bytes().zip(b.bytes()).collect());
    }
    out
}

/// The automaton from `start`, determinised by subset construction: state 0 is dead, state 1
/// is every set that contains a universal state, and the other sets follow in the order they
/// are found. Byte classes are the contiguous ranges of bytes that no edge tells apart,
/// numbered in increasing byte order as [`Raw::minimise`] expects. More than `limit` sets
/// (at most [`MAX_EXPLORED`]) is [`Exceeded::States`].
///
/// `work` is a budget of steps, spent as sets are looked up (a step per member) and the
/// successors of their members gathered (a step per member per byte class), which is where
/// the time goes; running out is [`Exceeded::Work`]. The state limit alone does not bound the
/// time: `*a*b*c…` with a thousand letters has a small automaton whose sets hold up to a
/// thousand members each.
pub(super) fn determinise(
    nfa: &Nfa,
    start: u32,
    limit: usize,
    work: &mut u64,
) -> Result<Raw, Exceeded> {
    let limit = limit.min(MAX_EXPLORED);
    let mut cut = [false; 257];
    for (lo, hi, _) in nfa.states.iter().flat_map(|s| &s.edges) {
        for at in [usize::from(*lo), usize::from(*hi) + 1] {
            if let Some(c) = cut.get_mut(at) {
                *c = true;
            }
        }
    }
    let mut classes = [0u8; 256];
    let mut k = 0usize;
    for (class, &cut) in classes.iter_mut().zip(&cut) {
        if cut || k == 0 {
            k += 1;
        }
        // There are at most 256 classes, numbered from 0.
        *class = (k - 1) as u8;
    }
    let class_of = |b: u8| usize::from(classes.get(usize::from(b)).copied().unwrap_or(0));

    let closures = closures(nfa);
    let closure = |s: u32| closures.get(s as usize).map_or(&[][..], Vec::as_slice);
    let universal = universal_states(nfa, &closures);
    let universal = |s: &u32| universal.get(*s as usize).copied().unwrap_or(false);

    let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut queue: VecDeque<Vec<u32>> = VecDeque::new();
    let spend = |steps: usize, work: &mut u64| -> Result<(), Exceeded> {
        *work = work.checked_sub(steps as u64).ok_or(Exceeded::Work)?;
        Ok(())
    };
    let mut id_of =
        |set: &[u32], queue: &mut VecDeque<Vec<u32>>, work: &mut u64| -> Result<u32, Exceeded> {
            spend(set.len(), work)?;
            if set.is_empty() {
                return Ok(DEAD);
            }
            if set.iter().any(universal) {
                return Ok(MATCH);
            }
            if let Some(&id) = ids.get(set) {
                return Ok(id);
            }
            if ids.len() >= limit {
                return Err(Exceeded::States);
            }
            let id = (ids.len() + 2) as u32;
            ids.insert(set.to_vec(), id);
            queue.push_back(set.to_vec());
            Ok(id)
        };

    let start = id_of(closure(start), &mut queue, work)?;
    let mut next = vec![DEAD; k];
    next.extend(std::iter::repeat_n(MATCH, k));
    let mut eoi_matches = vec![false, true];
    let mut targets: Vec<Vec<u32>> = vec![Vec::new(); k];
    while let Some(set) = queue.pop_front() {
        let mut accept = false;
        for state in set.iter().filter_map(|&s| nfa.states.get(s as usize)) {
            accept |= state.accept;
            for &(lo, hi, to) in &state.edges {
                let reached = closure(to);
                let span = (class_of(hi) + 1).saturating_sub(class_of(lo));
                spend(reached.len() * span, work)?;
                for class in targets.iter_mut().take(class_of(hi) + 1).skip(class_of(lo)) {
                    class.extend_from_slice(reached);
                }
            }
        }
        for class in &mut targets {
            class.sort_unstable();
            class.dedup();
            next.push(id_of(class, &mut queue, work)?);
            class.clear();
        }
        eoi_matches.push(accept);
    }
    Ok(Raw {
        classes,
        k,
        next,
        eoi_matches,
        start,
    })
}

/// Which states every input matches from: those whose closure holds a universal state, and
/// the largest set of states whose closure accepts and that lead into the set on every byte
/// (each of those matches the empty input and, after any byte, is still in the set). So
/// `*delete*` is found to match everything once `delete` is read, and a union stops following
/// its other globs there instead of at the next `/`.
fn universal_states(nfa: &Nfa, closures: &[Vec<u32>]) -> Vec<bool> {
    let closure = |s: u32| closures.get(s as usize).map_or(&[][..], Vec::as_slice);
    let states = |s: u32| {
        closure(s)
            .iter()
            .filter_map(|&q| nfa.states.get(q as usize))
    };
    let mut universal: Vec<bool> = (0..nfa.states.len() as u32)
        .map(|s| states(s).any(|q| q.accept))
        .collect();
    // The states to check: those that may be universal but are not known to be.
    let candidates: Vec<u32> = (0..nfa.states.len() as u32)
        .filter(|&s| states(s).any(|q| q.accept) && !states(s).any(|q| q.universal))
        .collect();
    let is = |universal: &[bool], s: u32| universal.get(s as usize).copied().unwrap_or(false);
    loop {
        let mut changed = false;
        for &s in &candidates {
            if !is(&universal, s) {
                continue;
            }
            let mut covered: Vec<Bytes> = states(s)
                .flat_map(|q| &q.edges)
                .filter(|&&(_, _, to)| closure(to).iter().any(|&t| is(&universal, t)))
                .map(|&(lo, hi, _)| (lo, hi))
                .collect();
            if !covers_every_byte(&mut covered) {
                if let Some(u) = universal.get_mut(s as usize) {
                    *u = false;
                }
                changed = true;
            }
        }
        if !changed {
            return universal;
        }
    }
}

/// Whether the byte ranges together hold every byte.
fn covers_every_byte(ranges: &mut [Bytes]) -> bool {
    ranges.sort_unstable();
    let mut next = 0u16;
    for &(lo, hi) in ranges.iter() {
        if u16::from(lo) > next {
            return false;
        }
        next = next.max(u16::from(hi) + 1);
    }
    next > 0xFF
}

/// For each state, the sorted states reachable from it by empty moves, itself included.
fn closures(nfa: &Nfa) -> Vec<Vec<u32>> {
    let n = nfa.states.len();
    let mut seen = vec![u32::MAX; n];
    let mut out = Vec::with_capacity(n);
    for s in 0..n as u32 {
        let mut closure = vec![s];
        let mut stack = vec![s];
        if let Some(mark) = seen.get_mut(s as usize) {
            *mark = s;
        }
        while let Some(q) = stack.pop() {
            for &t in nfa.states.get(q as usize).map_or(&[][..], |q| &q.empty) {
                if let Some(mark) = seen.get_mut(t as usize)
                    && *mark != s
                {
                    *mark = s;
                    closure.push(t);
                    stack.push(t);
                }
            }
        }
        closure.sort_unstable();
        out.push(closure);
    }
    out
}
