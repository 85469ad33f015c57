//! The WASI interfaces a skill may import but never use: sockets and
//! `wasi:http`. Toolchains link them whether or not the author's code calls
//! them (componentize-py's libc, componentize-js's fetch), so they are present
//! rather than absent: every way in (creating a socket, resolving a name,
//! sending a request) fails with `access-denied` / `HTTP-request-denied` and is
//! recorded as a denied host call. Nothing here opens a socket; skills reach
//! the network only through the vetted `http-get`/`http-post` capabilities.

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sockets::network::{
    self, ErrorCode, IpAddress, IpAddressFamily, Network,
};
use wasmtime_wasi::p2::bindings::sockets::{ip_name_lookup, tcp_create_socket};
use wasmtime_wasi::p2::bindings::sync::sockets::udp_create_socket;
use wasmtime_wasi::p2::{DynPollable, SocketError, TcpSocket, UdpSocket};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

use crate::capabilities::calls::CallLog;
use wasmtime_wasi::WasiView;
use wasmtime_wasi_http::WasiHttpView;

/// The entry points, as recorded in an invocation's host calls.
pub(crate) const TCP_CREATE: &str = "wasi:sockets/tcp-create-socket#create-tcp-socket";
pub(crate) const UDP_CREATE: &str = "wasi:sockets/udp-create-socket#create-udp-socket";
pub(crate) const NAME_LOOKUP: &str = "wasi:sockets/ip-name-lookup#resolve-addresses";
pub(crate) const HTTP_HANDLE: &str = "wasi:http/outgoing-handler#handle";

/// The socket entry points' view of a store: where refusals are recorded.
pub(crate) struct Denied<'a> {
    pub(crate) calls: &'a mut CallLog,
    pub(crate) table: &'a mut ResourceTable,
}

struct HasDenied;

impl HasData for HasDenied {
    type Data<'a> = Denied<'a>;
}

/// A store that can lend its refusal log and resource table at once.
pub(crate) trait DeniedView: WasiView + WasiHttpView + 'static {
    fn denied(&mut self) -> Denied<'_>;
}

/// Links the sockets and `wasi:http` interfaces: wasmtime-wasi's own
/// resources and types (which the empty context leaves inert), with every
/// entry point replaced by a refusal.
pub(crate) fn add_to_linker<T: DeniedView>(l: &mut Linker<T>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::sockets::{instance_network, network};
    use wasmtime_wasi::p2::bindings::sync::sockets::{tcp, udp};
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};
    use wasmtime_wasi_http::WasiHttp;
    use wasmtime_wasi_http::p2::bindings::sync::http as sync_http;

    tcp_create_socket::add_to_linker::<T, HasDenied>(l, T::denied)?;
    udp_create_socket::add_to_linker::<T, HasDenied>(l, T::denied)?;
    ip_name_lookup::add_to_linker::<T, HasDenied>(l, T::denied)?;

    let options = network::LinkOptions::default();
    network::add_to_linker::<T, WasiSockets>(l, &options, T::sockets)?;
    instance_network::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    tcp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    udp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    let options = wasmtime_wasi_http::p2::bindings::LinkOptions::default();
    sync_http::types::add_to_linker::<T, WasiHttp>(l, &options.into(), T::http)?;
    sync_http::outgoing_handler::add_to_linker::<T, WasiHttp>(l, T::http)?;
    Ok(())
}

fn refused(calls: &mut CallLog, function: &str) -> SocketError {
    calls.record(function, false);
    ErrorCode::AccessDenied.into()
}

impl tcp_create_socket::Host for Denied<'_> {
    fn create_tcp_socket(
        &mut self,
        _: IpAddressFamily,
    ) -> Result<Resource<TcpSocket>, SocketError> {
        Err(refused(self.calls, TCP_CREATE))
    }
}

impl udp_create_socket::Host for Denied<'_> {
    fn create_udp_socket(
        &mut self,
        _: IpAddressFamily,
    ) -> Result<Resource<UdpSocket>, SocketError> {
        Err(refused(self.calls, UDP_CREATE))
    }
}

type AddressStream = ip_name_lookup::ResolveAddressStream;

impl ip_name_lookup::Host for Denied<'_> {
    fn resolve_addresses(
        &mut self,
        _: Resource<Network>,
        _: String,
    ) -> Result<Resource<AddressStream>, SocketError> {
        Err(refused(self.calls, NAME_LOOKUP))
    }
}

/// No lookup ever starts, so no stream exists for these to be called on.
impl ip_name_lookup::HostResolveAddressStream for Denied<'_> {
    fn resolve_next_address(
        &mut self,
        _: Resource<AddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        Err(ErrorCode::AccessDenied.into())
    }

    fn subscribe(&mut self, _: Resource<AddressStream>) -> wasmtime::Result<Resource<DynPollable>> {
        Err(wasmtime::Error::msg(
            "name lookups are denied; there is no stream",
        ))
    }

    fn drop(&mut self, _: Resource<AddressStream>) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// `wasi:http`'s hooks: every request that reaches the wire is refused, and
/// the refusal recorded. `calls` also holds the refused socket calls.
#[derive(Default)]
pub(crate) struct Refusals {
    pub(crate) calls: CallLog,
}

type Sent = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

impl wasmtime_wasi_http::WasiHttpHooks for Refusals {
    fn send_request(
        &mut self,
        _: http::Request<WasiBody>,
        _: Option<RequestOptions>,
        _: Sent,
    ) -> Box<dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, Sent)>> + Send>
    {
        self.calls.record(HTTP_HANDLE, false);
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

/// Socket errors as the guest sees them; the network resource itself is
/// wasmtime-wasi's, linked separately.
impl network::Host for Denied<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        error.downcast()
    }

    fn network_error_code(
        &mut self,
        _: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        Ok(None)
    }
}

impl network::HostNetwork for Denied<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}
