//! Prints the built-in triage model's precision and recall on the held-out fifth of its
//! labeled set. Run with `./scripts/triage-eval`.

fn main() {
    let e = fanline_core::trust::triage::evaluate();
    println!("triage model: multinomial naive Bayes on crates/core/data/triage.tsv");
    println!("trained on {} examples, evaluated on {} held out (every 5th row)\n", e.trained_on, e.held_out);
    println!("{:<14} {:>9} {:>7} {:>8}", "intent", "precision", "recall", "support");
    for c in &e.classes {
        println!("{:<14} {:>9.2} {:>7.2} {:>8}", c.label, c.precision, c.recall, c.support);
    }
    println!("\naccuracy {:.2}", e.accuracy);
}
