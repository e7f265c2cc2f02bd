//! Everything that can wake the loop. Its own module so the training thread can send events
//! without importing the loop that reads them.

use ratatui::crossterm::event::KeyEvent;

use super::app::EngineMsg;

pub enum Event {
    Key(KeyEvent),
    Resize,
    Engine(EngineMsg),
}
