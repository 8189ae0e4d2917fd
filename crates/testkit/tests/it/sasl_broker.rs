//! The harness's SASL broker: it knows its user, takes records over SCRAM-SHA-512 through
//! `Broker::client_config`, and refuses a wrong password.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use testkit::{Broker, Record, SASL_MECHANISM};

#[tokio::test]
async fn the_sasl_broker_takes_its_user_and_refuses_a_wrong_password() {
    let broker = Broker::start_sasl("carol", "carol-pw").unwrap_or_else(|error| panic!("{error:#}"));
    let user = broker.sasl().expect("a SASL broker has a user");
    assert_eq!(user.username, "carol");
    assert_eq!(broker.client_config().get("sasl.mechanism"), Some(SASL_MECHANISM));

    broker.create_topic("greetings", 1).await.expect("topic created over SASL");
    let records = [Record::new("k1", "hello"), Record::new("k2", "world")];
    broker.produce("greetings", &records).await.expect("records acknowledged over SASL");
    let read = broker.read_exactly("greetings", 2, Duration::from_secs(20)).expect("records read over SASL");
    assert_eq!(
        read.iter().map(|r| r.payload.clone()).collect::<Vec<_>>(),
        records.map(|r| r.payload).to_vec()
    );

    let wrong: BaseConsumer = broker
        .client_config()
        .set("sasl.password", "not-carol-pw")
        .set("group.id", "intruders")
        .create()
        .expect("client created");
    let refused = wrong.fetch_metadata(None, Duration::from_secs(3));
    assert!(refused.is_err(), "a wrong password gets no metadata: {refused:?}");
}
