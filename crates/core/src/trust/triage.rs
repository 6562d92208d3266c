//! AI-assisted triage on the edge: a multinomial naive Bayes classifier that tags a request's
//! intent (song request, shoutout, commission, question, spam, abuse) with a score, and
//! suggests a priority. It is trained on the labeled set in `data/triage.tsv` (shipped in the
//! repository and compiled in), so it runs offline in every Worker. `evaluate` trains on four
//! fifths of the set and reports precision and recall on the held-out fifth
//! (`./scripts/triage-eval`).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const LABELED: &str = include_str!("../../data/triage.tsv");

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triage {
    pub intent: String,
    /// The model's probability for that intent, 0 to 1.
    pub score: f64,
    /// `high`, `normal` or `low`.
    pub priority: &'static str,
    pub model: &'static str,
}

pub struct Model {
    labels: Vec<String>,
    /// Per label: log prior, log likelihood per known word, log likelihood of an unseen word.
    priors: Vec<f64>,
    likelihoods: Vec<BTreeMap<String, f64>>,
    unseen: Vec<f64>,
}

/// Words and word pairs, folded like moderation folds them (case, diacritics, look-alikes).
fn features(text: &str) -> Vec<String> {
    let [words, _] = crate::trust::moderation::fold(text);
    let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    out.extend(words.windows(2).map(|p| format!("{} {}", p[0], p[1])));
    out
}

impl Model {
    pub fn train<'a>(examples: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut counts: BTreeMap<&str, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
        let mut vocabulary = std::collections::BTreeSet::new();
        let mut total = 0;
        for (label, text) in examples {
            let entry = counts.entry(label).or_default();
            entry.0 += 1;
            total += 1;
            for f in features(text) {
                vocabulary.insert(f.clone());
                *entry.1.entry(f).or_default() += 1;
            }
        }
        let v = vocabulary.len().max(1) as f64;
        let mut model = Model { labels: Vec::new(), priors: Vec::new(), likelihoods: Vec::new(), unseen: Vec::new() };
        for (label, (docs, words)) in counts {
            let words_total: usize = words.values().sum();
            let denominator = words_total as f64 + v;
            model.labels.push(label.to_string());
            model.priors.push((docs as f64 / total.max(1) as f64).ln());
            model.likelihoods.push(words.into_iter().map(|(w, n)| (w, ((n as f64 + 1.0) / denominator).ln())).collect());
            model.unseen.push((1.0 / denominator).ln());
        }
        model
    }

    /// Probabilities per label, highest first.
    pub fn scores(&self, text: &str) -> Vec<(&str, f64)> {
        let feats = features(text);
        let logs: Vec<f64> = (0..self.labels.len())
            .map(|i| self.priors[i] + feats.iter().map(|f| *self.likelihoods[i].get(f).unwrap_or(&self.unseen[i])).sum::<f64>())
            .collect();
        let max = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = logs.iter().map(|l| (l - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        let mut out: Vec<(&str, f64)> = self.labels.iter().map(String::as_str).zip(exps.iter().map(|e| e / sum)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        out
    }

    pub fn classify(&self, text: &str) -> Triage {
        let scores = self.scores(text);
        let (intent, score) = scores.first().copied().unwrap_or(("question", 0.0));
        Triage { intent: intent.to_string(), score: (score * 1000.0).round() / 1000.0, priority: priority(intent, text), model: "builtin-naive-bayes-v1" }
    }
}

/// Spam, abuse and questions can wait; anything time-bound ("tonight", "birthday today")
/// comes first.
fn priority(intent: &str, text: &str) -> &'static str {
    let [words, _] = crate::trust::moderation::fold(text);
    let urgent = words.iter().any(|w| matches!(w.as_str(), "today" | "tonight" | "now" | "urgent" | "asap" | "tomorrow"));
    match intent {
        "spam" | "abuse" | "question" => "low",
        _ if urgent => "high",
        _ => "normal",
    }
}

fn labeled() -> impl Iterator<Item = (usize, &'static str, &'static str)> {
    LABELED.lines().skip(1).filter_map(|l| l.split_once('\t')).enumerate().map(|(i, (label, text))| (i, label, text))
}

/// The model trained on the whole labeled set, built once per Worker instance.
pub fn builtin() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::train(labeled().map(|(_, l, t)| (l, t))))
}

pub fn classify(text: &str) -> Triage {
    builtin().classify(text)
}

/// A request's triage as the creator sees it (JSON): the one stored with it, or, for requests
/// stored without one, classified now from the free text of its stored fields, which is what
/// intake would have classified. Intake leaves it to the reader: the model (its code, its
/// labeled set, its training on an isolate's first use) stays out of every app's Worker and
/// off the fan's path. `None` for a request whose fields were erased.
pub fn of_request(stored: Option<&str>, fields_json: &str) -> Option<serde_json::Value> {
    if let Some(stored) = stored {
        return serde_json::from_str(stored).ok();
    }
    let fields: BTreeMap<String, serde_json::Value> = serde_json::from_str(fields_json).ok()?;
    if fields.is_empty() {
        return None;
    }
    let text: Vec<&str> = fields.values().filter_map(serde_json::Value::as_str).collect();
    serde_json::to_value(classify(&text.join("\n"))).ok()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub trained_on: usize,
    pub held_out: usize,
    pub accuracy: f64,
    pub classes: Vec<ClassReport>,
}

/// Trains on the rows whose index is not a multiple of 5 and tests on the rest.
pub fn evaluate() -> Evaluation {
    let held = |i: usize| i.is_multiple_of(5);
    let model = Model::train(labeled().filter(|(i, _, _)| !held(*i)).map(|(_, l, t)| (l, t)));
    let test: Vec<(&str, String)> = labeled().filter(|(i, _, _)| held(*i)).map(|(_, l, t)| (l, model.classify(t).intent)).collect();
    let labels: std::collections::BTreeSet<&str> = labeled().map(|(_, l, _)| l).collect();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let classes = labels
        .iter()
        .map(|&label| {
            let predicted = test.iter().filter(|(_, p)| p == label).count();
            let actual = test.iter().filter(|(a, _)| *a == label).count();
            let hit = test.iter().filter(|(a, p)| *a == label && p == label).count();
            ClassReport { label: label.to_string(), precision: ratio(hit, predicted), recall: ratio(hit, actual), support: actual }
        })
        .collect();
    let correct = test.iter().filter(|(a, p)| a == p).count();
    Evaluation { trained_on: labeled().filter(|(i, _, _)| !held(*i)).count(), held_out: test.len(), accuracy: ratio(correct, test.len()), classes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_stored_without_triage_is_classified_from_its_fields() {
        let fields = r#"{"email":"fan@example.com","message":"happy birthday","song":"Take On Me tonight"}"#;
        let read = of_request(None, fields).unwrap();
        // The text intake classified: the fields' string values in name order, one per line.
        let expected = serde_json::to_value(classify("fan@example.com\nhappy birthday\nTake On Me tonight")).unwrap();
        assert_eq!(read, expected);
        assert_eq!(read["priority"], "high");
        let stored = r#"{"intent":"spam","score":0.9,"priority":"low","model":"m"}"#;
        assert_eq!(of_request(Some(stored), fields).unwrap()["intent"], "spam");
        assert_eq!(of_request(None, "{}"), None, "erased");
        assert_eq!(of_request(None, "not json"), None);
    }

    #[test]
    fn tags_intents_with_a_score_and_a_priority() {
        let t = classify("could you play Take On Me by a-ha tonight");
        assert_eq!((t.intent.as_str(), t.priority), ("song_request", "high"));
        assert!(t.score > 0.5 && t.score <= 1.0);
        assert_eq!(classify("FREE FOLLOWERS cheap viewers click here").intent, "spam");
        assert_eq!(classify("say happy birthday to my sister Ana").intent, "shoutout");
        assert_eq!(classify("what microphone do you use?").priority, "low");
        assert_eq!(classify("").model, "builtin-naive-bayes-v1");
    }

    #[test]
    fn the_held_out_fifth_is_mostly_right() {
        let e = evaluate();
        assert_eq!(e.trained_on + e.held_out, 150);
        assert!(e.accuracy >= 0.7, "held-out accuracy {:.2}: {:?}", e.accuracy, e.classes);
        assert_eq!(e.classes.len(), 6);
    }
}
