package salesflow.peer.serde;

import org.apache.kafka.common.serialization.Serde;
import salesflow.peer.model.Figures;
import salesflow.peer.model.Order;
import salesflow.peer.model.ProductFigures;
import salesflow.peer.model.ProductInfo;
import salesflow.peer.model.Sale;
import salesflow.peer.model.Segment;

/** The serdes of the internal value types. */
public final class PeerSerdes {
    private PeerSerdes() {}

    public static final Serde<Order> ORDER = new BinarySerde<>(
            (w, o) -> w.writeLong(o.ts()).writeString(o.customerId()).writeString(o.productId())
                    .writeLong(o.quantity()).writeLong(o.priceMicros()).writeString(o.currency())
                    .writeBoolean(o.live()),
            r -> new Order(r.readLong(), r.readString(), r.readString(), r.readLong(), r.readLong(),
                    r.readString(), r.readBoolean()));

    public static final Serde<Segment> SEGMENT = new BinarySerde<>(PeerSerdes::writeSegment, PeerSerdes::readSegment);

    public static final Serde<ProductInfo> PRODUCT_INFO = new BinarySerde<>(PeerSerdes::writeProduct,
            PeerSerdes::readProduct);

    public static final Serde<Sale> SALE = new BinarySerde<>(
            (w, s) -> {
                w.writeString(s.customerId()).writeString(s.productId()).writeLong(s.day())
                        .writeLong(s.quantity()).writeLong(s.priceMicros()).writeString(s.currency());
                writeSegment(w, s.segment());
                w.writeString(s.category()).writeDecimal(s.revenue());
            },
            r -> new Sale(r.readString(), r.readString(), r.readLong(), r.readLong(), r.readLong(),
                    r.readString(), readSegment(r), r.readString(), r.readDecimal()));

    public static final Serde<Figures> FIGURES = new BinarySerde<>(PeerSerdes::writeFigures, PeerSerdes::readFigures);

    public static final Serde<ProductFigures> PRODUCT_FIGURES = new BinarySerde<>(
            (w, p) -> {
                writeFigures(w, p.figures());
                writeProduct(w, p.product());
            },
            r -> new ProductFigures(readFigures(r), readProduct(r)));

    private static void writeSegment(BinaryWriter w, Segment s) {
        w.writeString(s.gender()).writeString(s.ageBand());
    }

    private static Segment readSegment(BinaryReader r) {
        return new Segment(r.readString(), r.readString());
    }

    private static void writeProduct(BinaryWriter w, ProductInfo p) {
        w.writeString(p.name()).writeString(p.category());
    }

    private static ProductInfo readProduct(BinaryReader r) {
        return new ProductInfo(r.readString(), r.readString());
    }

    private static void writeFigures(BinaryWriter w, Figures f) {
        w.writeLong(f.orders()).writeLong(f.units()).writeDecimal(f.revenue());
    }

    private static Figures readFigures(BinaryReader r) {
        return new Figures(r.readLong(), r.readLong(), r.readDecimal());
    }
}
