//! The events section of the metadata document: per profile what its timeline has shown
//! ([`EventMemory`]), and the imported IDaaS events (without tokens). Every change is one
//! read-modify-write under the metadata lock.

use serde::{Deserialize, Serialize};

use crate::events::idaas::IdaasEvent;
use crate::events::timeline::{EventKey, EventMemory, TimelineEntry};
use crate::login::profile::ProfileId;
use crate::metadata::MetadataError;
use crate::secret_store::SecretStore;
use crate::vault::Vault;

/// At most this many IDaaS events are kept (the oldest go first).
pub const MAX_IDAAS_EVENTS: usize = 5_000;

/// The `security_events` section of the metadata document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsSection {
    /// What each profile's timeline has shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memories: Vec<EventMemory>,
    /// Imported IDaaS events, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idaas: Vec<IdaasEvent>,
}

impl EventsSection {
    /// Nothing recorded (the section is then left out of the file).
    pub fn is_empty(&self) -> bool {
        self.memories.is_empty() && self.idaas.is_empty()
    }
}

/// What an IDaaS import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IdaasImport {
    /// Events stored now.
    pub added: usize,
    /// Events that were stored already (same id).
    pub already_known: usize,
    /// Old events dropped to stay within [`MAX_IDAAS_EVENTS`].
    pub dropped: usize,
}

impl<S: SecretStore> Vault<S> {
    /// What `profile`'s timeline has shown before (empty for a first look).
    pub fn event_memory(&self, profile: ProfileId) -> Result<EventMemory, MetadataError> {
        Ok(self
            .metadata()
            .read()?
            .security_events
            .memories
            .into_iter()
            .find(|m| m.profile == profile)
            .unwrap_or_else(|| EventMemory::new(profile)))
    }

    /// The imported IDaaS events, oldest first.
    pub fn idaas_events(&self) -> Result<Vec<IdaasEvent>, MetadataError> {
        Ok(self.metadata().read()?.security_events.idaas)
    }

    /// Records `entries` as shown in `profile`'s timeline at `now`. Memories of profiles
    /// that no longer exist (`profile` included) are dropped on the way.
    pub fn remember_events(
        &self,
        profile: ProfileId,
        entries: &[TimelineEntry],
        now: u64,
    ) -> Result<(), MetadataError> {
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        let keep: Vec<EventKey> = doc
            .security_events
            .idaas
            .iter()
            .map(|e| EventKey::Idaas(e.id.clone()))
            .collect();
        let profiles: Vec<ProfileId> = doc.profiles.iter().map(|p| p.id).collect();
        let section = &mut doc.security_events;
        section.memories.retain(|m| profiles.contains(&m.profile));
        if !profiles.contains(&profile) {
            return lock.write(&doc);
        }
        let index = match section.memories.iter().position(|m| m.profile == profile) {
            Some(index) => index,
            None => {
                section.memories.push(EventMemory::new(profile));
                section.memories.len() - 1
            }
        };
        section.memories[index].remember(entries, now, &keep);
        lock.write(&doc)
    }

    /// Stores IDaaS events (tokens are never part of them); events already stored (same id)
    /// are counted, not repeated.
    pub fn import_idaas_events(
        &self,
        events: Vec<IdaasEvent>,
    ) -> Result<IdaasImport, MetadataError> {
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        let stored = &mut doc.security_events.idaas;
        let mut report = IdaasImport::default();
        for event in events {
            if stored.iter().any(|e| e.id == event.id) {
                report.already_known += 1;
            } else {
                stored.push(event);
                report.added += 1;
            }
        }
        if report.added == 0 {
            return Ok(report);
        }
        stored.sort_by(|a, b| (a.event_time, &a.id).cmp(&(b.event_time, &b.id)));
        if stored.len() > MAX_IDAAS_EVENTS {
            report.dropped = stored.len() - MAX_IDAAS_EVENTS;
            stored.drain(..report.dropped);
        }
        lock.write(&doc)?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::events::idaas::IdaasOutcome;
    use crate::events::timeline::build_timeline;
    use crate::login::profile::{LoginMethod, NewProfile};
    use crate::secret_store::MemoryStore;

    fn idaas(id: &str, at: u64) -> IdaasEvent {
        IdaasEvent {
            id: id.into(),
            outcome: IdaasOutcome::Failed,
            event_time: at,
            subject: None,
            subject_name: None,
            resource_name: None,
            source_ip: Some("10.0.0.1".into()),
        }
    }

    #[test]
    fn memory_and_idaas_events_are_kept_in_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Arc::new(MemoryStore::new()));
        let profile = vault
            .add_profile(
                NewProfile {
                    name: "prod".into(),
                    api_url: "http://127.0.0.1:1".into(),
                    method: LoginMethod::ApplicationToken,
                    secret: secrecy::SecretString::from("t".to_owned()),
                },
                1,
            )
            .unwrap();
        let report = vault
            .import_idaas_events(vec![idaas("b", 20), idaas("a", 10)])
            .unwrap();
        assert_eq!((report.added, report.already_known), (2, 0));
        let again = vault.import_idaas_events(vec![idaas("a", 10)]).unwrap();
        assert_eq!((again.added, again.already_known), (0, 1));
        let stored = vault.idaas_events().unwrap();
        assert_eq!(
            stored.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );

        let memory = vault.event_memory(profile.id).unwrap();
        assert!(memory.seen.is_empty());
        let entries = build_timeline(vec![], stored, &memory);
        vault.remember_events(profile.id, &entries, 100).unwrap();
        let memory = vault.event_memory(profile.id).unwrap();
        assert_eq!(memory.seen.len(), 2);
        assert!(
            build_timeline(vec![], vault.idaas_events().unwrap(), &memory)
                .iter()
                .all(|e| !e.is_new)
        );

        // A removed profile's memory goes with the next write.
        vault.remove_profile("prod").unwrap();
        let other: ProfileId = "6f1c1f4e-52a4-4c64-9d87-2f43e6b9d2a1".parse().unwrap();
        vault.remember_events(other, &[], 100).unwrap();
        let doc = vault.metadata().read().unwrap();
        assert!(doc.security_events.memories.is_empty());
    }
}
