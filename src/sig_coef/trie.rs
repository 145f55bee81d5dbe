//! The requested words as a prefix trie, with the chain of each node laid out for the segment
//! update, and where each output reads its value.

use crate::error::{Error, Result};

/// One link of a node's chain: the ancestor whose old value enters at this link, and where the
/// link's scaled letter `z[letter] / m` sits in the table of scaled increments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) node: usize,
    pub(crate) scaled: usize,
}

/// A set of words over the letters `0..dim`, stored as a prefix trie, so that a prefix shared by
/// several words (or a word asked for twice) is one node whose coefficient is computed once.
///
/// Node 0 is the empty word, whose coefficient is always 1. A node `w` of depth `k` with
/// letters `l_1 … l_k` and ancestors `a_1 … a_k = w` (`a_r` the prefix of length `r`) is
/// updated across a linear segment with increment `z` by
///
/// ```text
/// S^w ← S^{a_k} + z_{l_k}·(S^{a_{k-1}} + z_{l_{k-1}}/2·(… (S^{a_1} + z_{l_1}/k·1) …))
/// ```
///
/// (Chen's identity `S ⊗ exp(z)` read at `w`, in Horner form), which reads only old values of
/// `w`'s ancestors: updating deeper nodes first makes the update in place. The chain of `w`
/// costs `k` multiply-adds.
#[derive(Clone, Debug)]
pub struct WordTrie {
    dim: usize,
    nodes: usize,
    max_depth: usize,
    /// Non-root nodes in update order (deepest first), each with its chain `a_1 … a_k`.
    order: Vec<usize>,
    /// `chains[chain_start[j]..chain_start[j + 1]]` is the chain of `order[j]`.
    chain_start: Vec<usize>,
    chains: Vec<Link>,
    /// `(index in the scaled table, letter, m)` for every scaled letter `z[letter] / m` that
    /// some chain reads: only these are computed at each step.
    scaled_used: Vec<(usize, usize, usize)>,
    /// The letters some word uses, in increasing order: the only channels read from the path.
    letters_used: Vec<usize>,
    /// The node each output coefficient reads.
    outputs: Vec<usize>,
}

impl WordTrie {
    /// The trie of `words` over the letters `0..dim`, with one output per word, or (with
    /// `prefixes`) one per non-empty prefix of each word in order — `w[..1], …, w` — and one for
    /// an empty word (pysiglib's `prefixes=True` layout).
    ///
    /// Fails with [`Error::InvalidArgument`] when `words` is empty or a letter is not below
    /// `dim`.
    pub fn new(dim: usize, words: &[&[usize]], prefixes: bool) -> Result<Self> {
        if words.is_empty() {
            return Err(Error::invalid("words", "must hold at least one word"));
        }
        // children[node] as a sorted list of (letter, child): tries here are small.
        let mut parent = vec![0usize];
        let mut letter = vec![0usize];
        let mut depth = vec![0usize];
        let mut children: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
        let mut outputs = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let mut node = 0;
            for &l in word.iter() {
                if l >= dim {
                    return Err(Error::invalid(
                        "words",
                        format!(
                            "word {i}, {word:?}, has letter {l}, outside [0, {dim}) for a path of \
                             {dim} channels (after any transforms)"
                        ),
                    ));
                }
                node = match children[node].binary_search_by_key(&l, |&(c, _)| c) {
                    Ok(at) => children[node][at].1,
                    Err(at) => {
                        let child = parent.len();
                        children[node].insert(at, (l, child));
                        parent.push(node);
                        letter.push(l);
                        depth.push(depth[node] + 1);
                        children.push(Vec::new());
                        child
                    }
                };
                if prefixes {
                    outputs.push(node);
                }
            }
            if !prefixes || word.is_empty() {
                outputs.push(node);
            }
        }
        let nodes = parent.len();
        let max_depth = depth.iter().copied().max().unwrap_or(0);
        let mut order: Vec<usize> = (1..nodes).collect();
        order.sort_by_key(|&n| std::cmp::Reverse(depth[n]));
        let mut chain_start = Vec::with_capacity(order.len() + 1);
        let mut chains = Vec::new();
        let mut used = vec![false; max_depth * dim];
        for &n in &order {
            chain_start.push(chains.len());
            let k = depth[n];
            // Walk up from n, then reverse: the chain runs from the depth-1 ancestor to n.
            let start = chains.len();
            let mut a = n;
            while a != 0 {
                // The ancestor at depth r enters with z[letter]/(k - r + 1): row k - r.
                let scaled = (k - depth[a]) * dim + letter[a];
                used[scaled] = true;
                chains.push(Link { node: a, scaled });
                a = parent[a];
            }
            chains[start..].reverse();
        }
        chain_start.push(chains.len());
        let mut letters_used: Vec<usize> = letter[1..].to_vec();
        letters_used.sort_unstable();
        letters_used.dedup();
        let scaled_used = (0..max_depth * dim)
            .filter(|&s| used[s])
            .map(|s| (s, s % dim, s / dim + 1))
            .collect();
        Ok(WordTrie {
            dim,
            nodes,
            max_depth,
            order,
            chain_start,
            chains,
            scaled_used,
            letters_used,
            outputs,
        })
    }

    /// The number of letters, `d`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of nodes, the empty word included.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The number of outputs (coefficients written per path).
    pub fn outputs(&self) -> usize {
        self.outputs.len()
    }

    /// The total length of the chains: the multiply-adds of one segment update.
    pub fn chain_len(&self) -> usize {
        self.chains.len()
    }

    /// The longest word's length.
    pub(crate) fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// The node each output reads.
    pub(crate) fn output_nodes(&self) -> &[usize] {
        &self.outputs
    }

    /// The scaled letters the chains read, as `(index, letter, m)` for `z[letter] / m`.
    pub(crate) fn scaled_used(&self) -> &[(usize, usize, usize)] {
        &self.scaled_used
    }

    /// The letters the words use, in increasing order.
    pub(crate) fn letters_used(&self) -> &[usize] {
        &self.letters_used
    }

    /// Each non-root node in update order, with its chain.
    pub(crate) fn chains(&self) -> impl Iterator<Item = (usize, &[Link])> {
        self.order
            .iter()
            .zip(self.chain_start.windows(2))
            .map(|(&n, w)| (n, &self.chains[w[0]..w[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_prefixes_are_one_node_and_outputs_follow_the_words() {
        let words: [&[usize]; 4] = [&[1, 0], &[1, 0, 1], &[], &[1, 0]];
        let trie = WordTrie::new(2, &words, false).unwrap();
        assert_eq!(trie.nodes(), 4); // (), (1), (1,0), (1,0,1)
        let out = trie.output_nodes();
        assert_eq!(out[0], out[3]);
        assert_eq!(out[2], 0);
        assert_eq!(trie.chain_len(), 1 + 2 + 3);
        let with_prefixes = WordTrie::new(2, &words, true).unwrap();
        assert_eq!(with_prefixes.outputs(), 2 + 3 + 1 + 2);
        // Deeper nodes come first, and every chain ends at its node.
        let depths: Vec<usize> = trie.chains().map(|(_, c)| c.len()).collect();
        assert_eq!(depths, [3, 2, 1]);
        assert!(trie.chains().all(|(n, c)| c.last().unwrap().node == n));
    }

    #[test]
    fn bad_words_are_refused() {
        assert!(WordTrie::new(2, &[], false).is_err());
        let err = WordTrie::new(2, &[&[0, 2]], false).unwrap_err();
        assert!(
            err.to_string().contains("letter 2, outside [0, 2)"),
            "{err}"
        );
    }
}
